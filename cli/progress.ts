/**
 * A progress bar on stderr (cli-progress), drawn only when stderr is a terminal: scripts and CI logs get nothing.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

const MiB = 1048576;

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    stream,
    format: `${label} [{bar}] {percentage}% {doneMiB}/{totalMiB} MiB`,
    barCompleteChar: '#',
    barIncompleteChar: '-',
    barsize: 30,
    hideCursor: false,
    clearOnComplete: false,
    fps: 10,
  });
  let started = false;
  return {
    update(done, total) {
      const payload = { doneMiB: (done / MiB).toFixed(1), totalMiB: (total / MiB).toFixed(1) };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
