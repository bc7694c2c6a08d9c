/**
 * One client connection: frames in, responses out in request order.
 *
 * Requests are handled concurrently (pipelining) but answered in the order they arrived. The connection stops
 * reading while too many requests are in flight or too many response bytes are queued, and resumes as they drain.
 * A frame over socket.request.max.bytes, or one that trickles in slower than the frame timeout, closes it.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { FramePool } from './frame-pool.js';
import type { ResponseParts } from './outbound.js';
import {
  type ResponseWriter,
  type SendCounters,
  ResponseWriter as Writer,
  type ZeroCopySend,
} from './response-writer.js';
import { receiveInto } from './socket-receive.js';

export interface ConnectionLimits {
  maxRequestBytes: number;
  maxInFlight: number;
  maxQueuedResponseBytes: number;
  idleMs: number;
  frameTimeoutMs: number;
}

/** What handlers may know about the client on the other end. */
export interface ClientInfo {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The address the client reached us at (advertised when the listener is bound to a wildcard). */
  readonly localAddress: string;
  clientId: string | null;
  clientSoftwareName: string | null;
  clientSoftwareVersion: string | null;
}

/** Turns one request frame into its response; null means the request gets no response (Produce acks=0). */
export type Dispatch = (frame: Buffer, client: ClientInfo) => Promise<ResponseParts | null>;

/** Thrown by a dispatcher when the only right answer is to close the connection (Kafka does the same). */
export class CloseConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloseConnectionError';
  }
}

interface Slot {
  done: boolean;
  parts: ResponseParts | null;
}

let nextConnectionId = 1;

/** Api key of Produce: the one request whose frame is free again once its response exists (see frame-pool.ts). */
const PRODUCE = 0;

/** Buffers for frames that span socket reads, shared by every connection of the process. */
export const framePool = new FramePool();

export class Connection {
  readonly client: ClientInfo;
  private readonly decoder: FrameDecoder;
  private readonly writer: ResponseWriter;
  private readonly slots: Slot[] = [];
  /** Frames read but not yet dispatched: one read can hold more than queued.max.requests.per.connection. */
  private readonly backlog: Buffer[] = [];
  private paused = false;
  /** A 'drain' listener that retries maybeResume is registered (one at most: it is re-checked on every response). */
  private resumeOnDrain = false;
  private closed = false;
  private frameTimer: NodeJS.Timeout | null = null;
  /** performance.now() when the incomplete frame's first bytes arrived; -1 between frames. */
  private frameSince = -1;
  private closedResolve!: () => void;
  /** Resolves once the socket has closed. */
  readonly closedPromise = new Promise<void>((resolve) => {
    this.closedResolve = resolve;
  });

  constructor(
    private readonly socket: Socket,
    private readonly dispatch: Dispatch,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    zeroCopySend: ZeroCopySend | null,
    counters: SendCounters,
  ) {
    this.client = {
      id: nextConnectionId++,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '127.0.0.1',
      clientId: null,
      clientSoftwareName: null,
      clientSoftwareVersion: null,
    };
    // A request header is at least api key, version, correlation id and client id length: 10 bytes.
    this.decoder = new FrameDecoder(limits.maxRequestBytes, 10, framePool.allocate);
    this.writer = new Writer(
      socket,
      zeroCopySend,
      counters,
      (err) => this.fail('send failed', err),
      () => this.maybeResume(),
    );
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleMs, () => {
      if (this.slots.length === 0) this.close('idle timeout');
    });
    // Reads land in buffers the decoder picks (large frames straight into their own buffer); 'data' events where
    // the runtime does not allow that.
    const direct = receiveInto(
      socket,
      () => this.decoder.receiveBuffer(),
      (n) => this.onFrames(() => this.decoder.received(n)),
    );
    if (!direct) socket.on('data', (chunk: Buffer) => this.onFrames(() => this.decoder.push(chunk)));
    socket.on('error', (err) => this.fail('socket error', err));
    socket.on('close', () => this.onClose());
  }

  get inFlight(): number {
    return this.slots.length;
  }

  /** Stops reading new requests (graceful shutdown); in-flight ones still get their responses. */
  stopReading(): void {
    this.socket.pause();
    this.paused = true;
  }

  /** Resolves once every accepted request has been answered and written. */
  async drain(): Promise<void> {
    while (!this.closed && (this.slots.length > 0 || this.backlog.length > 0 || this.writer.queuedBytes > 0)) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(reason: string): void {
    if (this.closed) return;
    this.log.debug({ conn: this.client.id, reason }, 'closing connection');
    this.closed = true;
    const err = this.writer.close();
    if (err) this.log.warn({ conn: this.client.id, err }, 'could not stop a zero-copy send');
    this.clearFrameTimer();
    this.socket.destroy();
  }

  private onFrames(decode: () => Buffer[]): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = decode();
    } catch (err) {
      this.fail('bad frame', err as Error);
      return;
    }
    for (const frame of frames) this.backlog.push(frame);
    this.acceptBacklog();
    if (this.decoder.pendingBytes > 0) this.armFrameTimer();
    else this.disarmFrameTimer();
    this.maybePause();
  }

  private acceptBacklog(): void {
    while (this.backlog.length > 0 && this.slots.length < this.limits.maxInFlight && !this.closed) {
      this.accept(this.backlog.shift()!);
    }
  }

  private accept(frame: Buffer): void {
    const slot: Slot = { done: false, parts: null };
    this.slots.push(slot);
    this.dispatch(frame, this.client).then(
      (parts) => {
        slot.done = true;
        slot.parts = parts;
        if (frame.readInt16BE(0) === PRODUCE) framePool.release(frame);
        this.flush();
      },
      (err: Error) => {
        if (err instanceof CloseConnectionError) this.close(err.message);
        else this.fail('request failed', err);
      },
    );
  }

  private flush(): void {
    // Several responses ready at once leave in one write (writev) rather than one syscall each.
    const several = this.slots.length > 1 && this.slots[1].done;
    if (several) this.socket.cork();
    while (this.slots.length > 0 && this.slots[0].done) {
      const slot = this.slots.shift()!;
      if (slot.parts && !this.closed) {
        let length = 0;
        for (const p of slot.parts) length += p.length;
        this.writer.enqueue(slot.parts, length);
      }
    }
    if (several) this.socket.uncork();
    this.acceptBacklog();
    this.maybeResume();
  }

  private maybePause(): void {
    if (this.paused || this.closed) return;
    if (
      this.backlog.length > 0 ||
      this.slots.length >= this.limits.maxInFlight ||
      this.writer.queuedBytes >= this.limits.maxQueuedResponseBytes
    ) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.closed) return;
    if (
      this.backlog.length === 0 &&
      this.slots.length < this.limits.maxInFlight &&
      this.writer.queuedBytes < this.limits.maxQueuedResponseBytes
    ) {
      this.paused = false;
      this.socket.resume();
    } else if (this.socket.writableLength > 0 && !this.resumeOnDrain) {
      this.resumeOnDrain = true;
      this.socket.once('drain', this.resumeAfterDrain);
    }
  }

  private readonly resumeAfterDrain = (): void => {
    this.resumeOnDrain = false;
    this.maybeResume();
  };

  /**
   * The frame timeout runs from the first byte of a frame still incomplete. Arming and disarming happen for nearly
   * every large request, so they only move a start time; one timer per connection checks it when it fires and
   * re-arms itself for what is left (no new timer and no clearTimeout per request).
   */
  private armFrameTimer(): void {
    if (this.frameSince < 0) this.frameSince = performance.now();
    if (this.frameTimer) return;
    this.frameTimer = setTimeout(this.onFrameTimer, this.limits.frameTimeoutMs);
    this.frameTimer.unref();
  }

  private readonly onFrameTimer = (): void => {
    this.frameTimer = null;
    if (this.frameSince < 0 || this.closed) return;
    const left = this.frameSince + this.limits.frameTimeoutMs - performance.now();
    if (left <= 0) {
      this.close('request frame timed out');
      return;
    }
    this.frameTimer = setTimeout(this.onFrameTimer, left);
    this.frameTimer.unref();
  };

  private disarmFrameTimer(): void {
    this.frameSince = -1;
  }

  private clearFrameTimer(): void {
    this.frameSince = -1;
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.frameTimer = null;
  }

  private fail(what: string, err: Error): void {
    if (this.closed) return;
    const code = (err as NodeJS.ErrnoException).code;
    const quiet = code === 'ECONNRESET' || code === 'EPIPE';
    if (quiet) this.log.debug({ conn: this.client.id, err: err.message }, what);
    else this.log.warn({ conn: this.client.id, remote: this.client.remoteAddress, err }, what);
    this.close(what);
  }

  private onClose(): void {
    this.closed = true;
    this.writer.close(); // the socket is closed: nothing to stop
    this.clearFrameTimer();
    this.slots.length = 0;
    this.backlog.length = 0;
    this.closedResolve();
  }
}
