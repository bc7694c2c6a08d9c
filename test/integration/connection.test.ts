import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { decodeResponse, encodeRequestFrame } from '../../protocol/frames.js';
import { ApiVersions } from '../../protocol/generated/api-versions.js';
import { Metadata } from '../../protocol/generated/metadata.js';
import { startTestBroker } from '../helpers/broker.js';

/** A raw socket that collects whole response frames, for tests that need byte-level control. */
class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  readonly socket: Socket;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => undefined);
  }

  ready(): Promise<void> {
    return new Promise((r) => this.socket.once('connect', () => r()));
  }

  /** Resolves with the next frame (without its size), or null if the connection closes first. */
  async frame(timeoutMs = 5000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length >= 4 + size) {
          const f = this.buffered.subarray(4, 4 + size);
          this.buffered = this.buffered.subarray(4 + size);
          return f;
        }
      }
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async closedWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }
}

function metadataFrame(correlationId: number, version = 6): Buffer {
  return encodeRequestFrame(
    { apiKey: Metadata.apiKey, apiVersion: version, correlationId, clientId: 'raw' },
    { topics: [], allowAutoTopicCreation: false },
  );
}

describe('connections', () => {
  let broker: RunningBroker;

  beforeAll(async () => {
    broker = await startTestBroker({
      config: {
        'socket.request.max.bytes': 65536,
        'request.frame.timeout.ms': 300,
        'max.connections.per.ip': 20,
        'connections.max.idle.ms': 1000,
        'queued.max.requests.per.connection': 4,
      },
    });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('answers pipelined requests in request order', async () => {
    const c = new RawConnection(broker.port);
    await c.ready();
    const frames = Array.from({ length: 50 }, (_, i) => metadataFrame(1000 + i, i % 2 === 0 ? 4 : 12));
    c.socket.write(Buffer.concat(frames));
    for (let i = 0; i < 50; i++) {
      const f = await c.frame();
      expect(f?.readInt32BE(0)).toBe(1000 + i);
    }
    c.socket.destroy();
  });

  it('answers an ApiVersions version it does not know in the v0 layout with UNSUPPORTED_VERSION', async () => {
    const c = new RawConnection(broker.port);
    await c.ready();
    const frame = encodeRequestFrame({ apiKey: 18, apiVersion: 3, correlationId: 7, clientId: 'raw' }, {});
    frame.writeInt16BE(99, 6); // api version field of the header (after the 4-byte size and the api key)
    c.socket.write(frame);
    const f = await c.frame();
    expect(f).not.toBeNull();
    const res = decodeResponse(18, 0, f!);
    expect(res.header.correlationId).toBe(7);
    expect(res.body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(res.body.apiKeys.find((k: { apiKey: number }) => k.apiKey === 18)).toMatchObject({ minVersion: 0 });
    c.socket.destroy();
  });

  it('answers ApiVersions v0 and v3 with its ranges', async () => {
    const c = new RawConnection(broker.port);
    await c.ready();
    for (const version of [0, 3]) {
      const body = version >= 3 ? { clientSoftwareName: 'test', clientSoftwareVersion: '1' } : {};
      c.socket.write(
        encodeRequestFrame({ apiKey: 18, apiVersion: version, correlationId: version, clientId: 'raw' }, body),
      );
      const res = decodeResponse(18, version, (await c.frame())!);
      expect(res.body.errorCode).toBe(ErrorCode.NONE);
      const produce = res.body.apiKeys.find((k: { apiKey: number }) => k.apiKey === 0);
      expect(produce).toMatchObject({ minVersion: 0, maxVersion: 13 });
    }
    expect(ApiVersions.responseHeaderVersion(3)).toBe(0);
    c.socket.destroy();
  });

  it('closes the connection on an unknown api key, an unsupported version, and garbage', async () => {
    for (const mutate of [
      (f: Buffer) => f.writeInt16BE(9999, 4),
      (f: Buffer) => f.writeInt16BE(99, 6),
      (f: Buffer) => f.writeInt16BE(0x7fff, 12), // a client id longer than the frame
    ]) {
      const c = new RawConnection(broker.port);
      await c.ready();
      const f = metadataFrame(1);
      mutate(f);
      c.socket.write(f);
      expect(await c.frame()).toBeNull();
    }
  });

  it('refuses a frame over socket.request.max.bytes from its size alone', async () => {
    const c = new RawConnection(broker.port);
    await c.ready();
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(65537);
    c.socket.write(prefix);
    expect(await c.closedWithin(2000)).toBe(true);
  });

  it('times out a frame that trickles in', async () => {
    const c = new RawConnection(broker.port);
    await c.ready();
    c.socket.write(metadataFrame(1).subarray(0, 10));
    expect(await c.closedWithin(3000)).toBe(true);
  });

  it('keeps serving other connections after bad ones', async () => {
    const c = new RawConnection(broker.port);
    await c.ready();
    c.socket.write(metadataFrame(42));
    expect((await c.frame())?.readInt32BE(0)).toBe(42);
    c.socket.destroy();
  });

  it('closes a connection that stays idle past connections.max.idle.ms', async () => {
    const c = new RawConnection(broker.port);
    await c.ready();
    c.socket.write(metadataFrame(5));
    expect((await c.frame())?.readInt32BE(0)).toBe(5);
    expect(await c.closedWithin(4000)).toBe(true);
  });

  it('a client that reads late still gets every response in order (the pause and resume path does not stall)', async () => {
    // Every response used to add another 'drain' listener to the paused socket (Node warned past ten).
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const c = new RawConnection(broker.port);
    await c.ready();
    c.socket.pause(); // the client does not read: responses pile up, and the broker must stop taking requests
    const frames = Array.from({ length: 200 }, (_, i) => metadataFrame(i + 1));
    c.socket.write(Buffer.concat(frames));
    await new Promise((r) => setTimeout(r, 300));
    c.socket.resume();
    for (let i = 1; i <= 200; i++) expect((await c.frame())?.readInt32BE(0)).toBe(i);
    c.socket.destroy();
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('limits connections per client address', async () => {
    const conns = Array.from({ length: 25 }, () => new RawConnection(broker.port));
    await Promise.all(conns.map((c) => c.ready().catch(() => undefined)));
    await new Promise((r) => setTimeout(r, 200));
    const open = conns.filter((c) => !c.closed).length;
    expect(open).toBeLessThanOrEqual(20);
    expect(open).toBeGreaterThan(0);
    for (const c of conns) c.socket.destroy();
  });
});
