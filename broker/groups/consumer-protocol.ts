/**
 * Reads the topics out of a classic consumer's subscription (the "consumer" protocol type's member metadata:
 * int16 version, then an array of int16-length topic names, then user data and, in later versions, owned
 * partitions). Only the topic names are needed by the broker (OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC check).
 */
export function subscribedTopics(metadata: Buffer): string[] | null {
  try {
    if (metadata.length < 6) return null;
    let pos = 2;
    const count = metadata.readInt32BE(pos);
    pos += 4;
    if (count < 0 || count > 100_000) return null;
    const topics: string[] = [];
    for (let i = 0; i < count; i++) {
      const len = metadata.readInt16BE(pos);
      pos += 2;
      if (len < 0 || pos + len > metadata.length) return null;
      topics.push(metadata.toString('utf8', pos, pos + len));
      pos += len;
    }
    return topics;
  } catch {
    return null;
  }
}
