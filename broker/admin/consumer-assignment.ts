/**
 * Kafka's consumer protocol assignment (the bytes a consumer group member receives in SyncGroup and DescribeGroups
 * shows): version int16, [topic string, [partition int32]], userData bytes (v1+ adds nothing we need here).
 * Decoded leniently: bytes that do not parse give an empty assignment rather than an error, because DescribeGroups
 * may carry other protocols' data.
 */

export interface TopicAssignment {
  topic: string;
  partitions: number[];
}

export function decodeConsumerAssignment(buf: Buffer): TopicAssignment[] {
  try {
    let pos = 0;
    const need = (n: number) => {
      if (pos + n > buf.length) throw new RangeError('short assignment');
    };
    if (buf.length === 0) return [];
    need(2);
    pos += 2; // version
    need(4);
    const topics = buf.readInt32BE(pos);
    pos += 4;
    if (topics < 0 || topics > buf.length) return [];
    const out: TopicAssignment[] = [];
    for (let t = 0; t < topics; t++) {
      need(2);
      const len = buf.readInt16BE(pos);
      pos += 2;
      need(len);
      const topic = buf.toString('utf8', pos, pos + len);
      pos += len;
      need(4);
      const n = buf.readInt32BE(pos);
      pos += 4;
      if (n < 0) return [];
      need(4 * n);
      const partitions: number[] = [];
      for (let i = 0; i < n; i++) partitions.push(buf.readInt32BE(pos + 4 * i));
      pos += 4 * n;
      out.push({ topic, partitions });
    }
    return out;
  } catch {
    return [];
  }
}

/** The inverse, for tests and tools. */
export function encodeConsumerAssignment(assignment: TopicAssignment[], version = 0): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(6);
  head.writeInt16BE(version, 0);
  head.writeInt32BE(assignment.length, 2);
  parts.push(head);
  for (const a of assignment) {
    const name = Buffer.from(a.topic, 'utf8');
    const b = Buffer.alloc(2 + name.length + 4 + 4 * a.partitions.length);
    b.writeInt16BE(name.length, 0);
    name.copy(b, 2);
    b.writeInt32BE(a.partitions.length, 2 + name.length);
    for (const [i, p] of a.partitions.entries()) b.writeInt32BE(p, 6 + name.length + 4 * i);
    parts.push(b);
  }
  const userData = Buffer.alloc(4);
  userData.writeInt32BE(-1, 0); // null user data
  parts.push(userData);
  return Buffer.concat(parts);
}
