import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup: every temp dir a test, a broker child or a client makes lands under one root, which is
 * removed when the run ends, so that runs do not pile directories up in /tmp. Workers and the processes they
 * spawn inherit TMPDIR, which os.tmpdir() reads on every call.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'berth-test-'));
  process.env.TMPDIR = root;
  return () => {
    if (process.env.BERTH_KEEP_TEST_TMP === '1') return;
    rmSync(root, { recursive: true, force: true });
  };
}
