/**
 * A progress bar on stderr, drawn only when stderr is a terminal (scripts and CI logs get nothing). Small and our
 * own: cli-progress is not installed. Redraws at most every 100 ms.
 */

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

const WIDTH = 30;

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  let last = 0;
  let drawn = false;
  const draw = (done: number, total: number) => {
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(ratio * WIDTH);
    const mib = (n: number) => (n / 1048576).toFixed(1);
    stream.write(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${mib(done)}/${mib(total)} MiB`,
    );
    drawn = true;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      draw(done, total);
    },
    stop() {
      if (drawn) stream.write('\n');
    },
  };
}
