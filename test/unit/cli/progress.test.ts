import { describe, expect, it } from 'vitest';
import { progressBar } from '../../../cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = {
    isTTY,
    columns: 120,
    write: (s: string) => writes.push(s),
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
    on: () => undefined,
    removeListener: () => undefined,
  } as unknown as NodeJS.WriteStream;
  return { writes, stream };
}

describe('progressBar', () => {
  it('draws on a terminal and ends the line on stop', () => {
    const { writes, stream } = fakeStream(true);
    const bar = progressBar('verifying', stream);
    bar.update(1048576, 4 * 1048576);
    bar.update(4 * 1048576, 4 * 1048576); // completion always draws
    bar.stop();
    const text = writes.join('');
    expect(text).toContain('verifying [########----------------------] 25% 1.0/4.0 MiB');
    expect(text).toContain('verifying [##############################] 100% 4.0/4.0 MiB');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const { writes, stream } = fakeStream(false);
    const bar = progressBar('verifying', stream);
    bar.update(1, 2);
    bar.stop();
    expect(writes).toEqual([]);
  });
});
