/**
 * DeleteGroups (key 42), v0-3. Deletes Empty groups and their committed offsets, durably; per group:
 * GROUP_ID_NOT_FOUND for an unknown group, NON_EMPTY_GROUP while it has members.
 */
import { DeleteGroups } from '../../protocol/generated/delete-groups.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  codec: DeleteGroups,
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const results = [];
    for (const groupId of req.groupsNames) {
      results.push({ groupId, errorCode: await ctx.broker.groups.deleteGroup(groupId) });
    }
    return { throttleTimeMs: 0, results };
  },
  errorResponse: (req, errorCode) => ({
    throttleTimeMs: 0,
    results: req.groupsNames.map((groupId) => ({ groupId, errorCode })),
  }),
});
