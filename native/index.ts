/**
 * The native data plane (native/src/*.cc), loaded from build/Release or build/Debug. On a platform the addon does
 * not support (anything but Linux), or when it was not built, loadNative() returns null and callers take their
 * portable paths; nativeLoadError() says why.
 *
 * This file validates arguments before native code sees them and smooths two edges of the raw binding:
 *  - createRing may be called once per process: a second call while the first ring is open throws a NativeError
 *    with code 'EEXIST' (after close() a new ring may be created);
 *  - callbacks are never called synchronously (a send that finishes at once calls back on a microtask).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeCapabilities {
  ioUring: boolean;
  registeredBuffers: boolean;
  splice: boolean;
  sendfile: boolean;
  hardwareCrc32c: boolean;
  /** The CRC32C path crc32c() takes for long inputs on this CPU (native/README.md, "CRC32C"). */
  crc32cPath: Crc32cPath;
  kernel: string;
  reason?: string;
}

/**
 * CRC32C implementations in the addon: 'clmul512' folds with VPCLMULQDQ on 512-bit registers (AVX-512), from 256
 * bytes up; 'clmul256' the same on 256-bit registers (AVX2, no AVX-512); 'sse42' is the crc32 instruction;
 * 'software' slice-by-8 tables.
 */
export type Crc32cPath = 'clmul512' | 'clmul256' | 'sse42' | 'software';

/** A failed system call: code is the errno name ('EBADF'), errno is positive (as in os.constants.errno). */
export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
  /**
   * Set by sendRanges when its send thread could not be started (pthread_create failed): nothing after the bytes
   * reported sent went out, and no send that needs the thread can work in this process.
   */
  noSendThread?: true;
}

export interface SendRange {
  fd: number;
  offset: number;
  length: number;
}

export interface RingOptions {
  /** Submission queue slots (the completion queue gets twice as many). */
  entries: number;
  /** Registered buffers in the pool. */
  bufferCount: number;
  /** Bytes per buffer, a multiple of 4096. */
  bufferSize: number;
  /**
   * Writes of at least this many bytes skip the pool: IORING_OP_WRITE straight from the caller's Buffer (held
   * until completion), no copy. 0 or absent: every write goes through the pool (WRITE_FIXED).
   */
  directWriteMin?: number;
  /**
   * A write with a syncCb that fits one SQE goes to the kernel with its fdatasync linked behind it (IOSQE_IO_LINK),
   * so the kernel starts the fdatasync when the write completes (default true). false: the ring issues it from the
   * write's completion on the JS thread.
   */
  linkedSync?: boolean;
  /**
   * A small write that continues the latest write to the same file still waiting for submission joins its SQE:
   * one kernel write and one completion for both (default true). Callbacks still run once per write, in order.
   */
  coalesceWrites?: boolean;
}

export interface NativeAddon {
  probe(): NativeCapabilities;
  crc32c(buf: Uint8Array, start: number, end: number, crc: number): number;
  /**
   * crc32c() bound to one named path, for tests and benchmarks (calls cost what crc32c() calls cost); throws an Error
   * when the path is unknown or this CPU lacks it.
   */
  crc32cWith(path: Crc32cPath): (buf: Uint8Array, start: number, end: number, crc: number) => number;
  createRing(opts: RingOptions): NativeRing;
  fallocateSync(fd: number, mode: number, offset: number, length: number): void;
  mmapReadOnly(fd: number, offset: number, length: number): Buffer;
  /**
   * Writes `head`, then each range of its file, to the socket (sendfile: page cache to socket). Up to 64 KiB is sent
   * at once on this thread; a larger send, or one whose socket fills up, goes on on the addon's send thread with
   * duplicates of the descriptors. `cb` always runs later, on this thread. One send per socket at a time, and
   * nothing else written to the socket meanwhile.
   */
  sendRanges(
    socketFd: number,
    head: Buffer | null,
    ranges: Array<SendRange>,
    cb: (err: NativeError | null, bytesSent: number) => void,
  ): void;
  /**
   * shutdown(SHUT_RDWR): a send still going on the send thread for this socket fails at once (it holds a duplicate
   * descriptor, which closing the socket alone would leave open). Call it before destroying a socket mid-send.
   */
  shutdownSocket(socketFd: number): void;
}

export interface NativeRing {
  /**
   * Copies `data` into pool buffers (the only copy) and writes it at `position` with WRITE_FIXED. With `syncCb`,
   * the ring itself issues an fdatasync of `fd` as soon as the write has completed (no round trip through JS) and
   * calls `syncCb` when that is done; it covers this write and every write to `fd` completed before it. `cb` is
   * called first, when the write completes; a failed write fails `syncCb` with the same error.
   */
  writeFixed(
    fd: number,
    data: Buffer,
    position: number,
    cb: (err: NativeError | null) => void,
    syncCb?: (err: NativeError | null) => void,
  ): void;
  /**
   * writeFixed with a syncCb, but only as a rider on the latest write still waiting for submission whose fdatasync
   * is linked behind it, when `data` continues that write in the same file and fits behind it: that fdatasync then
   * covers this write too. Returns false, queueing nothing and calling nothing, when it cannot. The bytes are
   * copied before it returns.
   */
  joinSync(
    fd: number,
    data: Buffer,
    position: number,
    cb: (err: NativeError | null) => void,
    syncCb: (err: NativeError | null) => void,
  ): boolean;
  fdatasync(fd: number, cb: (err: NativeError | null) => void): void;
  fallocate(fd: number, mode: number, offset: number, length: number, cb: (err: NativeError | null) => void): void;
  /** Requests accepted whose callback has not run yet (queued for a buffer or in the kernel). */
  inFlight(): number;
  /**
   * io_uring_enter calls that submitted something, the SQEs they carried (batching shows as sqes >> enters), and
   * writes that joined another write's SQE (coalesceWrites).
   */
  submitStats(): { enters: number; sqes: number; coalesced: number };
  /** RingOptions.linkedSync for the writes issued from now on (A/B benchmarks). */
  setLinkedSync(on: boolean): void;
  /** RingOptions.coalesceWrites for the writes issued from now on (A/B benchmarks). */
  setCoalesceWrites(on: boolean): void;
  /** Waits for every accepted request, then unregisters the buffers and frees the ring. */
  close(): Promise<void>;
}

interface RawRing {
  writeFixed(
    fd: number,
    data: Uint8Array,
    position: number,
    cb: (err: NativeError | null) => void,
    syncCb?: (err: NativeError | null) => void,
  ): void;
  joinSync(
    fd: number,
    data: Uint8Array,
    position: number,
    cb: (err: NativeError | null) => void,
    syncCb: (err: NativeError | null) => void,
  ): boolean;
  fdatasync(fd: number, cb: (err: NativeError | null) => void): void;
  fallocate(fd: number, mode: number, offset: number, length: number, cb: (err: NativeError | null) => void): void;
  inFlight(): number;
  submitStats(): { enters: number; sqes: number; coalesced: number };
  setLinkedSync(on: boolean): void;
  setCoalesceWrites(on: boolean): void;
  close(cb: () => void): void;
  bufferSize: number;
}

interface RawAddon {
  abiVersion: number;
  probe(): NativeCapabilities;
  crc32c(buf: Uint8Array, start: number, end: number, crc: number): number;
  crc32cWith(path: Crc32cPath): (buf: Uint8Array, start: number, end: number, crc: number) => number;
  createRing(opts: RingOptions): RawRing;
  fallocateSync(fd: number, mode: number, offset: number, length: number): void;
  mmapReadOnly(fd: number, offset: number, length: number): Buffer;
  sendRanges(
    socketFd: number,
    head: Uint8Array | null,
    ranges: Float64Array,
    cb: (err: NativeError | null, bytesSent: number) => void,
  ): { error: NativeError | null; bytesSent: number; noSendThread?: boolean } | undefined;
  shutdownSocket(socketFd: number): void;
}

export function isNativeError(e: unknown): e is NativeError {
  return (
    e instanceof Error &&
    typeof (e as NativeError).code === 'string' &&
    typeof (e as NativeError).errno === 'number' &&
    typeof (e as NativeError).syscall === 'string'
  );
}

/** A NativeError made in JS, for the few failures the wrapper detects itself. */
export function makeNativeError(code: string, errno: number, syscall: string, message: string): NativeError {
  return Object.assign(new Error(`${code}: ${message}, ${syscall}`), { code, errno, syscall });
}

function checkInt(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${v}`);
  if (v < min || v > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${v}`);
}

const MAX_FD = 0x7fffffff;
const MAX_POS = Number.MAX_SAFE_INTEGER;

function checkCallback(cb: unknown): void {
  if (typeof cb !== 'function') throw new TypeError('callback must be a function');
}

function wrapRing(raw: RawRing): NativeRing {
  let closing: Promise<void> | null = null;
  return {
    writeFixed(fd, data, position, cb, syncCb) {
      checkInt('fd', fd, 0, MAX_FD);
      checkInt('position', position, 0, MAX_POS);
      if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Buffer');
      checkCallback(cb);
      if (syncCb !== undefined) checkCallback(syncCb);
      if (data.length === 0) {
        // Nothing for the kernel to do; still refuse after close() like every other call.
        if (closing) throw makeNativeError('ESHUTDOWN', 108, 'io_uring_enter', 'the ring is closed');
        queueMicrotask(() => cb(null));
        if (syncCb) raw.fdatasync(fd, syncCb);
        return;
      }
      if (syncCb) raw.writeFixed(fd, data, position, cb, syncCb);
      else raw.writeFixed(fd, data, position, cb);
    },
    joinSync(fd, data, position, cb, syncCb) {
      checkInt('fd', fd, 0, MAX_FD);
      checkInt('position', position, 0, MAX_POS);
      if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Buffer');
      checkCallback(cb);
      checkCallback(syncCb);
      return data.length > 0 && raw.joinSync(fd, data, position, cb, syncCb);
    },
    fdatasync(fd, cb) {
      checkInt('fd', fd, 0, MAX_FD);
      checkCallback(cb);
      raw.fdatasync(fd, cb);
    },
    fallocate(fd, mode, offset, length, cb) {
      checkInt('fd', fd, 0, MAX_FD);
      checkInt('mode', mode, 0, MAX_FD);
      checkInt('offset', offset, 0, MAX_POS);
      checkInt('length', length, 1, MAX_POS);
      checkCallback(cb);
      raw.fallocate(fd, mode, offset, length, cb);
    },
    inFlight() {
      return raw.inFlight();
    },
    submitStats() {
      return raw.submitStats();
    },
    setLinkedSync(on) {
      if (typeof on !== 'boolean') throw new TypeError('setLinkedSync(on: boolean)');
      raw.setLinkedSync(on);
    },
    setCoalesceWrites(on) {
      if (typeof on !== 'boolean') throw new TypeError('setCoalesceWrites(on: boolean)');
      raw.setCoalesceWrites(on);
    },
    close() {
      if (!closing) closing = new Promise<void>((resolve) => raw.close(resolve));
      return closing;
    },
  };
}

function wrap(raw: RawAddon): NativeAddon {
  return {
    probe: () => raw.probe(),
    // The hot path: no wrapper, the binding checks its own bounds.
    crc32c: raw.crc32c,
    crc32cWith: raw.crc32cWith,
    createRing(opts) {
      checkInt('entries', opts.entries, 1, 32768);
      checkInt('bufferCount', opts.bufferCount, 1, 16384);
      checkInt('bufferSize', opts.bufferSize, 4096, 1 << 30);
      if (opts.bufferSize % 4096 !== 0) throw new RangeError('bufferSize must be a multiple of 4096');
      if (opts.directWriteMin !== undefined) checkInt('directWriteMin', opts.directWriteMin, 0, MAX_POS);
      if (opts.linkedSync !== undefined && typeof opts.linkedSync !== 'boolean') {
        throw new TypeError('linkedSync must be a boolean');
      }
      if (opts.coalesceWrites !== undefined && typeof opts.coalesceWrites !== 'boolean') {
        throw new TypeError('coalesceWrites must be a boolean');
      }
      return wrapRing(raw.createRing(opts));
    },
    fallocateSync(fd, mode, offset, length) {
      checkInt('fd', fd, 0, MAX_FD);
      checkInt('mode', mode, 0, MAX_FD);
      checkInt('offset', offset, 0, MAX_POS);
      checkInt('length', length, 1, MAX_POS);
      raw.fallocateSync(fd, mode, offset, length);
    },
    mmapReadOnly(fd, offset, length) {
      checkInt('fd', fd, 0, MAX_FD);
      checkInt('offset', offset, 0, MAX_POS);
      checkInt('length', length, 0, MAX_POS);
      return raw.mmapReadOnly(fd, offset, length);
    },
    sendRanges(socketFd, head, ranges, cb) {
      checkInt('socketFd', socketFd, 0, MAX_FD);
      if (head !== null && !(head instanceof Uint8Array)) throw new TypeError('head must be a Buffer or null');
      checkCallback(cb);
      const packed = new Float64Array(ranges.length * 3);
      for (let i = 0; i < ranges.length; i++) {
        const r = ranges[i];
        checkInt('range fd', r.fd, 0, MAX_FD);
        checkInt('range offset', r.offset, 0, MAX_POS);
        checkInt('range length', r.length, 0, MAX_POS);
        packed[i * 3] = r.fd;
        packed[i * 3 + 1] = r.offset;
        packed[i * 3 + 2] = r.length;
      }
      const done = raw.sendRanges(socketFd, head, packed, cb);
      if (done === undefined) return;
      if (done.noSendThread && done.error) done.error.noSendThread = true;
      queueMicrotask(() => cb(done.error, done.bytesSent));
    },
    shutdownSocket(socketFd) {
      checkInt('socketFd', socketFd, 0, MAX_FD);
      raw.shutdownSocket(socketFd);
    },
  };
}

let loaded: NativeAddon | null | undefined;
let loadError: string | null = null;

/** The directory holding binding.gyp: one level up from native/index.ts, two from dist/native/index.js. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

/** The addon, or null where it is not built or not supported (see nativeLoadError()). Loaded once. */
export function loadNative(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== 'linux') {
    loadError = `the native addon supports Linux only (this is ${process.platform})`;
    return loaded;
  }
  const root = packageRoot();
  const require = createRequire(import.meta.url);
  for (const kind of ['Release', 'Debug']) {
    const file = join(root, 'build', kind, 'berth_native.node');
    if (!existsSync(file)) continue;
    try {
      loaded = wrap(require(file) as RawAddon);
      loadError = null;
      return loaded;
    } catch (e) {
      loadError = `loading ${file} failed: ${(e as Error).message}`;
    }
  }
  loadError ??= `the native addon is not built (no berth_native.node under ${join(root, 'build')}); run npm install`;
  return loaded;
}

/** Why loadNative() returned null, or null when it did not. */
export function nativeLoadError(): string | null {
  loadNative();
  return loadError;
}
