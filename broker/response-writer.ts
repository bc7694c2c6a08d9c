/**
 * Writes a connection's responses in request order, one at a time. Response bytes built in JS go through
 * socket.write; file ranges go through the zero-copy send (native splice/sendfile) when one is given, else they are
 * read into memory and written (the copying path). A native send starts only after every byte Node was given for
 * this socket has reached the kernel, and Node is given nothing more until it ends, so the two never interleave.
 */
import { read } from 'node:fs';
import type { Socket } from 'node:net';
import { FramePool } from './frame-pool.js';
import { type FileRange, isFileRange, type ResponseParts, skipBytes } from './outbound.js';

/**
 * Buffers the copying path reads file ranges into, reused once the socket has them: a fresh multi-megabyte buffer
 * per fetch page-faults on every byte (FramePool says why), which cost about as much as the copy itself.
 */
export const copyReadPool = new FramePool();

/**
 * Sends `head` then each range to the socket's fd; resolves with the bytes sent. `abort` makes a send still in
 * flight for the socket fail at once: the native send may go on on its own thread with a duplicate of the socket,
 * which destroying the socket alone would not stop while the peer is not reading.
 */
export type ZeroCopySend = {
  (socketFd: number, head: Buffer | null, ranges: FileRange[]): Promise<number>;
  abort?(socketFd: number): void;
  /** Set once zero-copy sends cannot work in this process any more: writers copy from then on. */
  unavailable?: boolean;
};

/**
 * A zero-copy send that could not go on (its thread could not be started): the first `bytesSent` bytes went out,
 * and the writer sends the rest by copying.
 */
export class ZeroCopyUnavailable extends Error {
  constructor(
    readonly bytesSent: number,
    options: { cause: Error },
  ) {
    super(`zero-copy send unavailable: ${options.cause.message}`, options);
    this.name = 'ZeroCopyUnavailable';
  }
}

export interface SendCounters {
  zeroCopyBytes: number;
  copiedBytes: number;
}

export class ResponseWriter {
  private readonly queue: ResponseParts[] = [];
  private queued = 0;
  private pumping = false;
  private closed = false;
  /** A zero-copy send for this socket is in flight (it may be running on the native send thread). */
  private nativeSending = false;
  /** socket.write calls whose callback has not run yet, and who waits for them all to have run. */
  private pendingWrites = 0;
  private writesDone: Array<() => void> = [];

  constructor(
    private readonly socket: Socket,
    private readonly zeroCopySend: ZeroCopySend | null,
    private readonly counters: SendCounters,
    private readonly onError: (err: Error) => void,
    private readonly onDrained: () => void,
  ) {}

  /** Bytes accepted but not yet handed to the kernel (file ranges included). */
  get queuedBytes(): number {
    return this.queued + this.socket.writableLength;
  }

  enqueue(parts: ResponseParts, length: number): void {
    if (this.closed) return;
    if (!this.pumping && this.queue.length === 0 && !parts.some(isFileRange)) {
      // Nothing ahead of it and nothing native to order against: straight to the socket, no pump.
      this.writeBuffers(parts as Buffer[]);
      return;
    }
    this.queue.push(parts);
    this.queued += length;
    if (!this.pumping) void this.pump();
  }

  /**
   * Drops what is queued and stops a zero-copy send in flight; the caller destroys the socket right after. Returns
   * the error if that send could not be stopped (for the caller's log).
   */
  close(): Error | null {
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    if (!this.nativeSending || !this.zeroCopySend?.abort) return null;
    const fd = socketFdIfOpen(this.socket);
    // No descriptor: the socket is gone already, and its send fails (or has failed) on its own.
    if (fd === null) return null;
    try {
      this.zeroCopySend.abort(fd);
      return null;
    } catch (err) {
      return err as Error;
    }
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const parts = this.queue.shift()!;
        let length = 0;
        let hasRanges = false;
        for (const p of parts) {
          length += p.length;
          if (isFileRange(p)) hasRanges = true;
        }
        if (!hasRanges) this.writeBuffers(parts as Buffer[]);
        else if (this.zeroCopySend && !this.zeroCopySend.unavailable) await this.sendZeroCopy(parts);
        else await this.sendCopy(parts);
        this.queued -= length;
      }
    } catch (err) {
      this.closed = true;
      this.onError(err as Error);
    } finally {
      this.pumping = false;
    }
    if (!this.closed) this.onDrained();
  }

  private writeBuffers(buffers: Buffer[]): void {
    if (!this.corked) {
      // Responses made in this run of callbacks and promise continuations (one ring completion can finish a dozen
      // pipelined appends) leave in one writev: on our VM each socket write costs tens of microseconds of loopback
      // delivery and wake-up, whatever its size. The tick after it ends, they go.
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncorkBatch);
    }
    if (buffers.length === 1) {
      this.write(buffers[0]);
      return;
    }
    this.socket.cork();
    for (const b of buffers) this.write(b);
    this.socket.uncork();
  }

  private corked = false;
  private readonly uncorkBatch = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  /**
   * Hands `buf` to Node. A failed write (the peer went away mid-response) is reported once, through the socket's
   * 'error' event that the connection handles; here it only counts as done.
   */
  private write(buf: Buffer, afterWrite?: () => void): void {
    this.pendingWrites++;
    this.socket.write(
      buf,
      afterWrite
        ? () => {
            afterWrite();
            this.onWriteDone();
          }
        : this.onWriteDone,
    );
  }

  private readonly onWriteDone = (): void => {
    if (--this.pendingWrites > 0) return;
    for (const resolve of this.writesDone.splice(0)) resolve();
  };

  /** Resolves once every socket.write so far has reached the kernel (or failed). */
  private allWritten(): Promise<void> {
    if (this.pendingWrites === 0) return Promise.resolve();
    return new Promise((resolve) => this.writesDone.push(resolve));
  }

  private async sendZeroCopy(parts: ResponseParts): Promise<void> {
    // Everything written through Node must be in the kernel before native code writes to the same fd. With nothing
    // left in Node's buffer (writes that completed at once only wait for their callbacks), the send starts now, in
    // the same turn as the response was made: no promise hop lets another connection's write go first.
    if (this.socket.writableLength > 0) await this.allWritten();
    const fd = socketFd(this.socket);
    let head: Buffer[] = [];
    let ranges: FileRange[] = [];
    let groupStart = 0; // parts[groupStart..] are not sent yet
    // Sends the group of head buffers and ranges that ends before parts[end]; false when the copying path took over
    // the rest of the response.
    const flush = async (end: number): Promise<boolean> => {
      if (ranges.length === 0) return true;
      const headBytes = head.length === 0 ? null : head.length === 1 ? head[0] : Buffer.concat(head);
      this.nativeSending = true;
      let sent: number;
      try {
        sent = await this.zeroCopySend!(fd, headBytes, ranges);
      } catch (err) {
        this.nativeSending = false;
        if (!(err instanceof ZeroCopyUnavailable)) throw err;
        await this.sendCopy(skipBytes(parts.slice(groupStart), err.bytesSent));
        return false;
      }
      this.nativeSending = false;
      let rangeBytes = 0;
      for (const r of ranges) rangeBytes += r.length;
      this.counters.zeroCopyBytes += rangeBytes;
      if (sent !== rangeBytes + head.reduce((n, b) => n + b.length, 0)) throw new Error('short zero-copy send');
      head = [];
      ranges = [];
      groupStart = end;
      return true;
    };
    for (const [i, p] of parts.entries()) {
      if (isFileRange(p)) ranges.push(p);
      else {
        if (ranges.length > 0 && !(await flush(i))) return;
        head.push(p);
      }
    }
    if (!(await flush(parts.length))) return;
    if (head.length > 0) this.writeBuffers(head);
  }

  private async sendCopy(parts: ResponseParts): Promise<void> {
    const buffers = await Promise.all(parts.map((p) => (isFileRange(p) ? readRange(p) : p)));
    this.socket.cork();
    for (const [i, p] of parts.entries()) {
      const b = buffers[i];
      if (!isFileRange(p)) {
        this.write(b);
        continue;
      }
      this.counters.copiedBytes += p.length;
      // Back to the pool once the kernel has its bytes (or the write failed): nothing reads it after that.
      this.write(b, () => copyReadPool.release(b));
    }
    this.socket.uncork();
  }
}

function socketFdIfOpen(socket: Socket): number | null {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return handle && typeof handle.fd === 'number' && handle.fd >= 0 ? handle.fd : null;
}

function socketFd(socket: Socket): number {
  const fd = socketFdIfOpen(socket);
  if (fd === null) throw new Error('socket has no file descriptor');
  return fd;
}

function readRange(range: FileRange): Promise<Buffer> {
  const buf = copyReadPool.allocate(range.length).subarray(0, range.length);
  return new Promise((resolve, reject) => {
    let done = 0;
    const next = (): void => {
      read(range.fd, buf, done, range.length - done, range.position + done, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return reject(new Error(`file range ended early at ${range.position + done}`));
        done += n;
        if (done === range.length) resolve(buf);
        else next();
      });
    };
    next();
  });
}
