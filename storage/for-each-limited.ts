/**
 * Runs an async step for every item, at most `limit` at a time, and waits for all of them. A failed step does not
 * stop the others; the first failure is thrown once every step has settled. For shutdown work over many partitions:
 * each step ends in an fsync, and fsyncs in flight together share the file system's journal commits.
 */
export async function forEachLimited<T>(
  items: Iterable<T>,
  limit: number,
  step: (item: T) => Promise<void>,
): Promise<void> {
  const list = [...items];
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async () => {
    while (next < list.length) {
      const item = list[next++];
      try {
        await step(item);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, list.length)) }, worker));
  if (failed) throw failure;
}
