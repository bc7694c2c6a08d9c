/**
 * Chooses how Fetch record bytes reach the socket: 'zerocopy' (the native addon's sendfile/splice, page cache to
 * socket) or 'copy' (read into memory, then socket.write). fetch.path=auto takes zero-copy when the addon is built
 * and the kernel has sendfile; the choice and its reason are logged once and exported as a metric.
 * Also installs the addon's hardware CRC32C for record batch checks when the CPU has it.
 */
import type { Logger } from 'pino';
import { nativeCrc32c } from '../native/crc32c-accelerator.js';
import { loadNative, nativeLoadError } from '../native/index.js';
import type { Crc32cFn } from '../protocol/records/crc32c.js';
import type { FileRange } from './outbound.js';
import type { ZeroCopySend } from './response-writer.js';

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
  const send: ZeroCopySend = (socketFd: number, head: Buffer | null, ranges: FileRange[]) =>
    new Promise((resolve, reject) => {
      addon.sendRanges(
        socketFd,
        head,
        ranges.map((r) => ({ fd: r.fd, offset: r.position, length: r.length })),
        (err, bytesSent) => (err ? reject(err) : resolve(bytesSent)),
      );
    });
  send.abort = (socketFd: number) => addon.shutdownSocket(socketFd);
  log.info({ fetchPath: 'zerocopy', splice: caps?.splice ?? false }, 'fetch path: zero-copy (sendfile)');
  return { name: 'zerocopy', reason: null, send, crc32c };
}
