import { describe, expect, it } from 'vitest';
import { encodeConsumerAssignment } from '../../../../broker/admin/consumer-assignment.js';
import { type CoordinatorLike, groupsViewFrom } from '../../../../broker/admin/groups-view.js';

/** A coordinator with one live consumer group and one group that only has committed offsets. */
const coordinator: CoordinatorLike = {
  list: () => [
    { groupId: 'live', state: 'Stable', protocolType: 'consumer' },
    { groupId: 'batch-job', state: 'Empty', protocolType: '' },
  ],
  describe: (id) =>
    id === 'live'
      ? {
          groupId: 'live',
          state: 'Stable',
          protocolType: 'consumer',
          protocolName: 'range',
          members: [
            {
              memberId: 'm1',
              groupInstanceId: null,
              clientId: 'app',
              clientHost: '/10.0.0.1',
              assignment: encodeConsumerAssignment([{ topic: 'orders', partitions: [1, 0] }]),
            },
          ],
        }
      : id === 'batch-job'
        ? { groupId: id, state: 'Empty', protocolType: '', protocolName: '', members: [] }
        : null,
  allCommitted: (id) =>
    id === 'live'
      ? [
          { topic: 'orders', partition: 1, offset: 7n, metadata: null },
          { topic: 'orders', partition: 0, offset: 3n, metadata: 'm' },
        ]
      : [],
};

describe('groupsViewFrom', () => {
  const view = groupsViewFrom(coordinator);

  it('lists groups sorted, with member counts', () => {
    expect(view.listGroups()).toEqual([
      { groupId: 'batch-job', protocolType: '', state: 'Empty', members: 0 },
      { groupId: 'live', protocolType: 'consumer', state: 'Stable', members: 1 },
    ]);
  });

  it('describes members with decoded assignments and sorted committed offsets', () => {
    expect(view.describeGroup('live')).toEqual({
      groupId: 'live',
      state: 'Stable',
      protocolType: 'consumer',
      protocol: 'range',
      members: [
        {
          memberId: 'm1',
          groupInstanceId: null,
          clientId: 'app',
          clientHost: '/10.0.0.1',
          assignment: [{ topic: 'orders', partitions: [1, 0] }],
        },
      ],
      offsets: [
        { topic: 'orders', partition: 0, committedOffset: 3, metadata: 'm' },
        { topic: 'orders', partition: 1, committedOffset: 7, metadata: null },
      ],
    });
    expect(view.describeGroup('nope')).toBeNull();
  });
});
