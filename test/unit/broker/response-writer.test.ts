import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../broker/logger.js';
import type { FileRange } from '../../../broker/outbound.js';
import { ResponseWriter, type ZeroCopySend } from '../../../broker/response-writer.js';
import { selectSendPath } from '../../../broker/send-path.js';

/** A connected pair of real TCP sockets: `server` is the broker's side, `client` reads what it sends. */
async function socketPair(): Promise<{ server: Socket; client: Socket; listener: Server }> {
  let accepted!: (s: Socket) => void;
  const serverSide = new Promise<Socket>((resolve) => {
    accepted = resolve;
  });
  const listener = createServer({ noDelay: true }, (s) => accepted(s));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as { port: number }).port;
  const { connect } = await import('node:net');
  const client = connect(port, '127.0.0.1');
  const server = await serverSide;
  return { server, client, listener };
}

/** Collects everything the client receives until `length` bytes have arrived. */
function receive(client: Socket, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    client.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= length) resolve(Buffer.concat(chunks));
    });
  });
}

describe('ResponseWriter (responses from JS)', () => {
  it('writes the responses made in one tick in one writev, once the tick is over, in order', async () => {
    const { server, client, listener } = await socketPair();
    const writes: number[] = [];
    const s = server as unknown as {
      _writev: (chunks: unknown[], cb: () => void) => void;
      _write: (chunk: unknown, encoding: string, cb: () => void) => void;
    };
    const writev = s._writev.bind(server);
    const write = s._write.bind(server);
    s._writev = (chunks, cb) => {
      writes.push(chunks.length);
      writev(chunks, cb);
    };
    s._write = (chunk, encoding, cb) => {
      writes.push(1);
      write(chunk, encoding, cb);
    };
    const fail = (e: unknown) => {
      throw e;
    };
    const writer = new ResponseWriter(server, null, { zeroCopyBytes: 0, copiedBytes: 0 }, fail, () => {});
    const responses = Array.from({ length: 10 }, (_, i) => Buffer.from(`response ${i};`));
    const arriving = receive(
      client,
      responses.reduce((n, r) => n + r.length, 0),
    );
    for (const r of responses) writer.enqueue([r], r.length);
    expect(writes).toEqual([]); // held until the tick ends
    await new Promise((resolve) => process.nextTick(resolve));
    expect(writes).toEqual([10]);
    expect(await arriving).toEqual(Buffer.concat(responses));
    // A response made in a later tick goes on its own.
    const late = Buffer.from('late');
    const lateArriving = receive(client, late.length);
    writer.enqueue([late], late.length);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([10, 1]);
    expect((await lateArriving).subarray(-late.length)).toEqual(late);
    client.destroy();
    server.destroy();
    listener.close();
  });
});

describe('ResponseWriter (zero-copy path)', () => {
  let dir: string;
  let fd: number;
  const fileBytes = Buffer.alloc(3000);
  for (let i = 0; i < fileBytes.length; i++) fileBytes[i] = (i * 7 + 3) & 0xff;
  let send: ZeroCopySend;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-response-writer-'));
    writeFileSync(join(dir, 'segment.log'), fileBytes);
    fd = openSync(join(dir, 'segment.log'), 'r');
    const path = await selectSendPath('zerocopy', createLogger('silent'));
    send = path.send!;
  });

  afterAll(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  function counting(): { send: ZeroCopySend; calls: () => number } {
    let calls = 0;
    return {
      send: (socketFd, head, ranges) => {
        calls++;
        return send(socketFd, head, ranges);
      },
      calls: () => calls,
    };
  }

  /** A connected socket pair whose server side has a ResponseWriter on the counting zero-copy sender. */
  async function zeroCopyWriter() {
    const pair = await socketPair();
    const zc = counting();
    const fail = (e: unknown) => {
      throw e;
    };
    const writer = new ResponseWriter(pair.server, zc.send, { zeroCopyBytes: 0, copiedBytes: 0 }, fail, () => {});
    return { ...pair, zc, writer };
  }

  it('starts a response with file ranges in the same turn when Node holds no bytes for the socket', async () => {
    const { server, client, listener, zc, writer } = await zeroCopyWriter();
    const head = Buffer.from('head:');
    const tail = Buffer.from(':tail');
    const range: FileRange = { fd, position: 100, length: 2000 };
    const arriving = receive(client, head.length + range.length + tail.length);
    writer.enqueue([head, range, tail], head.length + range.length + tail.length);
    // Before the fix the send waited for a promise hop first: a response of another connection made in the same
    // turn (a producer's ack) reached its socket first, and the woken consumer waited behind that write.
    expect(zc.calls()).toBe(1);
    const got = await arriving;
    expect(got).toEqual(Buffer.concat([head, fileBytes.subarray(100, 2100), tail]));
    client.destroy();
    server.destroy();
    listener.close();
  });

  it('close() stops a zero-copy send to a client that stopped reading, instead of leaving it to the send thread', async () => {
    const { server, client, listener } = await socketPair();
    client.pause(); // never resumed
    client.on('error', () => {});
    const bigFile = join(dir, 'big.log');
    writeFileSync(bigFile, Buffer.alloc(32 << 20, 1));
    const bigFd = openSync(bigFile, 'r');
    const failed = new Promise<Error>((resolve) => {
      const writer = new ResponseWriter(server, send, { zeroCopyBytes: 0, copiedBytes: 0 }, resolve, () => {});
      writer.enqueue([Buffer.from('head'), { fd: bigFd, position: 0, length: 32 << 20 }], 4 + (32 << 20));
      setTimeout(() => {
        expect(writer.close()).toBeNull();
        server.destroy();
      }, 50);
    });
    expect(((await failed) as NodeJS.ErrnoException).code).toBe('EPIPE');
    closeSync(bigFd);
    client.destroy();
    listener.close();
  });

  it('waits for bytes still held by Node (a corked write) before sending file ranges, so nothing is reordered', async () => {
    const { server, client, listener, zc, writer } = await zeroCopyWriter();
    const first = Buffer.from('first response;');
    const head = Buffer.from('second:');
    const range: FileRange = { fd, position: 0, length: 1500 };
    const total = first.length + head.length + range.length;
    const arriving = receive(client, total);
    // The connection corks when several responses are ready at once: the first is then still in Node's buffer.
    server.cork();
    writer.enqueue([first], first.length);
    writer.enqueue([head, range], head.length + range.length);
    expect(zc.calls()).toBe(0);
    server.uncork();
    const got = await arriving;
    expect(zc.calls()).toBe(1);
    expect(got).toEqual(Buffer.concat([first, head, fileBytes.subarray(0, 1500)]));
    client.destroy();
    server.destroy();
    listener.close();
  });
});
