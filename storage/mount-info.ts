/**
 * Which mount a directory lives on, from /proc/self/mountinfo (Linux), and whether that filesystem discards freed
 * blocks online. Why: preallocated segment space is unwritten extents that ext4 converts as appends reach them, and
 * now and then a conversion frees an extent-tree block; with the `discard` mount option that block is discarded
 * before the fdatasync waiting on it finishes (docs/operations.md, "Disks mounted with discard").
 */
import { readFileSync, realpathSync } from 'node:fs';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  /** Per-mount and superblock options together ("rw", "discard", "errors=continue", ...). */
  options: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/**
 * Parses mountinfo text: `id parent major:minor root mountPoint mountOptions [optional...] - fsType source
 * superOptions` per line. Lines that do not have that shape are skipped.
 */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 7 || dash < 0 || fields.length < dash + 4) continue;
    out.push({
      mountPoint: unescapeOctal(fields[4]!),
      fsType: fields[dash + 1]!,
      options: [...fields[5]!.split(','), ...fields[dash + 3]!.split(',')],
    });
  }
  return out;
}

/** The mount holding `path` (an absolute, resolved path): the last-mounted entry with the longest matching point. */
export function mountOf(entries: readonly MountEntry[], path: string): MountEntry | null {
  let best: MountEntry | null = null;
  for (const e of entries) {
    const p = e.mountPoint;
    const holds = p === '/' || path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`);
    if (holds && (best === null || p.length >= best.mountPoint.length)) best = e;
  }
  return best;
}

/**
 * The mount of `dir` when it is ext4 mounted with online discard, else null (another filesystem, no discard, not
 * Linux, or mountinfo unreadable). `mountInfo` replaces /proc/self/mountinfo (tests).
 */
export function ext4DiscardMount(dir: string, mountInfo?: string): MountEntry | null {
  let text = mountInfo;
  let path: string;
  try {
    text ??= readFileSync('/proc/self/mountinfo', 'utf8');
    path = realpathSync(dir);
  } catch {
    return null;
  }
  const m = mountOf(parseMountInfo(text), path);
  if (m?.fsType !== 'ext4') return null;
  const discard = m.options.lastIndexOf('discard') > m.options.lastIndexOf('nodiscard');
  return discard ? m : null;
}
