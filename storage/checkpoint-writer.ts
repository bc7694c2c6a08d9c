/**
 * Writes the data root's checkpoint files off the event loop, one write of a file at a time, newest text wins.
 *
 * Why: a checkpoint is written atomically (`.tmp`, fsync, rename, fsync of the directory), and those fsyncs wait for
 * the disk. Done synchronously, the periodic checkpoint of 1,000 partitions held the event loop 5-12 ms on an idle
 * disk and 144-433 ms at times beside a synced write load, every minute, for every client.
 *
 * Order: a write asked for while one of the same file is in flight waits for it (they share the `.tmp` name), and
 * asks made meanwhile collapse into one write of the newest text, so a file never goes back to an older snapshot
 * and a burst (deleting a hundred topics) costs two writes, not a hundred. Every caller's promise resolves once a
 * write of its text, or of a newer one, is durable; it rejects with that write's StorageError.
 */
import { writeFileAtomicAsync } from './checkpoint-file.js';

interface FileState {
  /** The write in flight, if any. */
  running: Promise<void> | null;
  /** The newest text asked for since the write in flight started, and the promise its callers wait on. */
  next: { body: string; done: Promise<void> } | null;
}

export class CheckpointWriter {
  readonly #files = new Map<string, FileState>();

  /** Writes `body` to `file` atomically, after (or instead of) the writes of it already asked for. */
  write(file: string, body: string): Promise<void> {
    let state = this.#files.get(file);
    if (!state) {
      state = { running: null, next: null };
      this.#files.set(file, state);
    }
    // A write already waiting takes the newer text (checked first: between one write's end and the waiting one's
    // start, `running` is already null).
    if (state.next) {
      state.next.body = body;
      return state.next.done;
    }
    if (!state.running) return this.#start(file, state, body);
    const next: { body: string; done: Promise<void> } = { body, done: Promise.resolve() };
    const startNext = (): Promise<void> => this.#start(file, state, next.body);
    next.done = state.running.then(startNext, startNext);
    state.next = next;
    return next.done;
  }

  /** Resolves once every write asked for so far has settled (failures included). */
  async settled(): Promise<void> {
    for (const state of this.#files.values()) {
      await state.next?.done.catch(() => {});
      await state.running?.catch(() => {});
    }
  }

  #start(file: string, state: FileState, body: string): Promise<void> {
    state.next = null;
    const running = writeFileAtomicAsync(file, body).finally(() => {
      if (state.running === running) state.running = null;
    });
    state.running = running;
    return running;
  }
}
