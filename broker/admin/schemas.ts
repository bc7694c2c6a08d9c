/**
 * JSON Schemas of the admin API's responses. Fastify serializes each route's reply through its schema (so a reply
 * cannot leak fields the document does not list), the OpenAPI document at /docs is built from the same objects, and
 * the tests validate live replies against what /docs serves.
 */

const int = { type: 'integer' } as const;
const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;

export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: str, message: str },
} as const;

export const healthSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok', 'starting', 'stopping'] } },
} as const;

export const brokerSchema = {
  type: 'object',
  required: [
    'nodeId',
    'clusterId',
    'version',
    'listener',
    'adminPort',
    'dataDir',
    'ioEngine',
    'fetchPath',
    'connections',
    'topics',
    'partitions',
    'uptimeSeconds',
  ],
  properties: {
    nodeId: int,
    clusterId: str,
    version: str,
    listener: { type: 'object', required: ['host', 'port'], properties: { host: str, port: int } },
    adminPort: int,
    dataDir: str,
    ioEngine: { type: 'object', required: ['name', 'reason'], properties: { name: str, reason: nullableStr } },
    fetchPath: { type: 'object', required: ['name', 'reason'], properties: { name: str, reason: nullableStr } },
    connections: int,
    topics: int,
    partitions: int,
    uptimeSeconds: { type: 'number' },
  },
} as const;

const partitionSchema = {
  type: 'object',
  required: ['partition', 'leader', 'leaderEpoch', 'logStartOffset', 'highWatermark', 'sizeBytes', 'segments'],
  properties: {
    partition: int,
    leader: int,
    leaderEpoch: int,
    logStartOffset: int,
    highWatermark: int,
    sizeBytes: int,
    segments: int,
  },
} as const;

export const topicSummarySchema = {
  type: 'object',
  required: ['name', 'topicId', 'partitions', 'internal', 'sizeBytes'],
  properties: { name: str, topicId: str, partitions: int, internal: { type: 'boolean' }, sizeBytes: int },
} as const;

export const topicListSchema = {
  type: 'object',
  required: ['topics'],
  properties: { topics: { type: 'array', items: topicSummarySchema } },
} as const;

export const topicDetailSchema = {
  type: 'object',
  required: ['name', 'topicId', 'internal', 'configs', 'overrides', 'partitions'],
  properties: {
    name: str,
    topicId: str,
    internal: { type: 'boolean' },
    configs: { type: 'object', additionalProperties: str, description: 'Effective topic configs.' },
    overrides: { type: 'object', additionalProperties: str, description: 'The topic-level overrides only.' },
    partitions: { type: 'array', items: partitionSchema },
  },
} as const;

export const groupSummarySchema = {
  type: 'object',
  required: ['groupId', 'protocolType', 'state', 'members'],
  properties: { groupId: str, protocolType: str, state: str, members: int },
} as const;

export const groupListSchema = {
  type: 'object',
  required: ['groups'],
  properties: { groups: { type: 'array', items: groupSummarySchema } },
} as const;

export const groupDetailSchema = {
  type: 'object',
  required: ['groupId', 'state', 'protocolType', 'protocol', 'members', 'offsets'],
  properties: {
    groupId: str,
    state: str,
    protocolType: str,
    protocol: str,
    members: {
      type: 'array',
      items: {
        type: 'object',
        required: ['memberId', 'groupInstanceId', 'clientId', 'clientHost', 'assignment'],
        properties: {
          memberId: str,
          groupInstanceId: nullableStr,
          clientId: str,
          clientHost: str,
          assignment: {
            type: 'array',
            items: {
              type: 'object',
              required: ['topic', 'partitions'],
              properties: { topic: str, partitions: { type: 'array', items: int } },
            },
          },
        },
      },
    },
    offsets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['topic', 'partition', 'committedOffset', 'logEndOffset', 'lag', 'metadata'],
        properties: {
          topic: str,
          partition: int,
          committedOffset: int,
          logEndOffset: { type: ['integer', 'null'], description: 'null when the partition no longer exists.' },
          lag: { type: ['integer', 'null'] },
          metadata: nullableStr,
        },
      },
    },
  },
} as const;

export const metricsTextSchema = { type: 'string', description: 'Prometheus text exposition format 0.0.4.' } as const;
