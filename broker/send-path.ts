/**
 * Chooses how Fetch record bytes reach the socket: 'zerocopy' (the native addon's sendfile/splice, page cache to
 * socket) or 'copy' (read into memory, then socket.write). fetch.path=auto takes zero-copy when the addon is built
 * and the kernel has sendfile; the choice and its reason are logged once and exported as a metric. When the addon's
 * send thread cannot be started, the path turns to 'copy' at the first send that needs it (name and reason change).
 * Also installs the addon's hardware CRC32C for record batch checks when the CPU has it.
 */
import type { Logger } from 'pino';
import { nativeCrc32c } from '../native/crc32c-accelerator.js';
import { loadNative, nativeLoadError } from '../native/index.js';
import type { Crc32cFn } from '../protocol/records/crc32c.js';
import type { FileRange } from './outbound.js';
import { type ZeroCopySend, ZeroCopyUnavailable } from './response-writer.js';

export interface SendPath {
  name: 'zerocopy' | 'copy';
  reason: string | null;
  send: ZeroCopySend | null;
  crc32c: Crc32cFn | null;
}

export async function selectSendPath(wanted: string, log: Logger): Promise<SendPath> {
  const native = loadNative();
  const caps = native?.probe() ?? null;
  const crc32c = nativeCrc32c(native);
  // Which instructions check every produced batch's CRC: worth a line when a broker is slower than expected.
  log.info({ crc32c: crc32c ? caps!.crc32cPath : 'js' }, `crc32c: ${crc32c ? caps!.crc32cPath : 'js tables'}`);
  const unavailable = !native
    ? `native addon unavailable (${nativeLoadError() ?? 'not built'})`
    : !caps?.sendfile
      ? `sendfile unavailable${caps?.reason ? ` (${caps.reason})` : ''}`
      : null;
  if (wanted === 'copy') {
    log.info({ fetchPath: 'copy' }, 'fetch path: copy (fetch.path=copy)');
    return { name: 'copy', reason: 'fetch.path=copy', send: null, crc32c };
  }
  if (unavailable) {
    if (wanted === 'zerocopy') throw new Error(`fetch.path=zerocopy, but ${unavailable}`);
    log.warn({ fetchPath: 'copy', reason: unavailable }, `fetch path: copy, falling back because ${unavailable}`);
    return { name: 'copy', reason: unavailable, send: null, crc32c };
  }
  const addon = native!;
  const path: SendPath = { name: 'zerocopy', reason: null, send: null, crc32c };
  const send: ZeroCopySend = (socketFd: number, head: Buffer | null, ranges: FileRange[]) =>
    new Promise((resolve, reject) => {
      addon.sendRanges(
        socketFd,
        head,
        ranges.map((r) => ({ fd: r.fd, offset: r.position, length: r.length })),
        (err, bytesSent) => {
          if (!err) return resolve(bytesSent);
          if (!err.noSendThread) return reject(err);
          fallBack(err);
          reject(new ZeroCopyUnavailable(bytesSent, { cause: err }));
        },
      );
    });
  // The addon's send thread could not start (a container's pids or memory limit): large sends cannot leave the
  // event loop, so every writer copies from now on. Said once, and shown by berth_fetch_path like any fallback.
  const fallBack = (err: Error): void => {
    if (send.unavailable) return;
    send.unavailable = true;
    path.name = 'copy';
    path.reason = `send thread unavailable (${err.message})`;
    log.warn({ fetchPath: 'copy', reason: path.reason, err }, `fetch path: copy, falling back because ${path.reason}`);
  };
  send.abort = (socketFd: number) => addon.shutdownSocket(socketFd);
  path.send = send;
  log.info({ fetchPath: 'zerocopy', splice: caps?.splice ?? false }, 'fetch path: zero-copy (sendfile)');
  return path;
}
