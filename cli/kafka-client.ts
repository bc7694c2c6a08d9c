/**
 * A small Kafka client over the project's own codecs: one TCP connection, pipelined requests matched to responses
 * by correlation id, and version negotiation from the broker's ApiVersions answer. The CLI and the integration
 * tests use it; it is not a producer or consumer library.
 */
import { connect, type Socket } from 'node:net';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { decodeResponse, encodeRequestFrame } from '../protocol/frames.js';
import { ApiVersions } from '../protocol/generated/api-versions.js';
import type { ApiCodec } from '../protocol/wire/api-codec.js';

export interface ClientOptions {
  host: string;
  port: number;
  clientId?: string;
  /** Largest response accepted. */
  maxResponseBytes?: number;
  requestTimeoutMs?: number;
}

interface Pending {
  codec: ApiCodec;
  version: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class KafkaClient {
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private readonly decoder: FrameDecoder;
  private versions = new Map<number, { min: number; max: number }>();
  private closedError: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: ClientOptions,
  ) {
    this.decoder = new FrameDecoder(opts.maxResponseBytes ?? 256 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.failAll(err));
    socket.on('close', () => this.failAll(new Error('connection closed')));
  }

  /** Connects and negotiates API versions. */
  static async connect(opts: ClientOptions): Promise<KafkaClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: opts.host, port: opts.port, noDelay: true });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const client = new KafkaClient(socket, opts);
    const res = await client.send(ApiVersions, 3, {
      clientSoftwareName: 'berth-cli',
      clientSoftwareVersion: '0.1.0',
    });
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, 'ApiVersions failed');
    for (const k of res.apiKeys) client.versions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
    return client;
  }

  /** The highest version of `codec` that both sides speak. */
  versionFor(codec: ApiCodec, atMost = codec.maxStableVersion): number {
    const theirs = this.versions.get(codec.apiKey);
    if (!theirs) throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `broker does not support ${codec.name}`);
    const v = Math.min(theirs.max, atMost);
    if (v < Math.max(theirs.min, codec.minVersion))
      throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `no common version of ${codec.name}`);
    return v;
  }

  /** Sends at the best common version. */
  // biome-ignore lint/suspicious/noExplicitAny: only the request input and the decoded response matter here
  request<Res, ReqIn>(codec: ApiCodec<any, Res, ReqIn, any>, body: ReqIn, atMost?: number): Promise<Res> {
    return this.send(codec, this.versionFor(codec, atMost), body);
  }

  /** Sends at an explicit version. `expectResponse: false` is for Produce with acks=0. */
  send<Res, ReqIn>(
    // biome-ignore lint/suspicious/noExplicitAny: only the request input and the decoded response matter here
    codec: ApiCodec<any, Res, ReqIn, any>,
    version: number,
    body: ReqIn,
    expectResponse = true,
  ): Promise<Res> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequestFrame(
      { apiKey: codec.apiKey, apiVersion: version, correlationId, clientId: this.opts.clientId ?? 'berth-cli' },
      body,
    );
    this.socket.write(frame);
    if (!expectResponse) return Promise.resolve(undefined as Res);
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${codec.name} timed out`));
      }, this.opts.requestTimeoutMs ?? 30_000);
      this.pending.set(correlationId, { codec, version, resolve: resolve as (v: unknown) => void, reject, timer });
    });
  }

  /** Writes raw bytes (tests that send malformed frames). */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  /** Closes after every byte written has been handed to the kernel (acks=0 produces have no response to wait for). */
  closeGracefully(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.failAll(err as Error);
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      const correlationId = frame.readInt32BE(0);
      const p = this.pending.get(correlationId);
      if (!p) continue;
      this.pending.delete(correlationId);
      clearTimeout(p.timer);
      try {
        p.resolve(decodeResponse(p.codec.apiKey, p.version, frame).body);
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  private failAll(err: Error): void {
    this.closedError ??= err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}
