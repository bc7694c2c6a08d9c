/** The consumer protocol assignment codec lives with the admin API (the broker needs it too); re-exported here. */
export {
  decodeConsumerAssignment,
  encodeConsumerAssignment,
  type TopicAssignment,
} from '../broker/admin/consumer-assignment.js';
