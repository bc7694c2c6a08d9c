import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveInto } from '../../../broker/socket-receive.js';

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A server whose first accepted socket is handed to `onSocket`; returns a client, once both ends are set up. */
async function pair(onSocket: (s: net.Socket) => void): Promise<net.Socket> {
  let accepted!: () => void;
  const ready = new Promise<void>((r) => {
    accepted = r;
  });
  const server = net.createServer((s) => {
    onSocket(s);
    accepted();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  await Promise.all([new Promise((r) => client.once('connect', r)), ready]);
  return client;
}

describe('receiveInto', () => {
  it('puts every read into the buffer named for it, in order, and still reports the end', async () => {
    const payload = Buffer.alloc(3 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 13) & 0xff;
    const received: Buffer[] = [];
    const targets = new Set<ArrayBufferLike>();
    let usedDirect = false;
    const ended = new Promise<void>((resolve) => {
      void pair((socket) => {
        let current = Buffer.alloc(0);
        usedDirect = receiveInto(
          socket,
          () => {
            // A fresh buffer of a varying size per read, so that a read landing elsewhere would be caught.
            current = Buffer.alloc(1000 + received.length * 7);
            targets.add(current.buffer);
            return current;
          },
          (n) => received.push(Buffer.from(current.subarray(0, n))),
        );
        socket.on('end', () => resolve());
      }).then((client) => client.end(payload));
    });
    await ended;
    // Node 20 and 24, which Berth supports, both offer the mechanism.
    expect(usedDirect).toBe(true);
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    expect(targets.size).toBeGreaterThan(1);
  });

  it('stops reading while paused and resumes', async () => {
    let server!: net.Socket;
    let bytes = 0;
    const target = Buffer.alloc(64 * 1024);
    const client = await pair((socket) => {
      server = socket;
      receiveInto(
        socket,
        () => target,
        (n) => {
          bytes += n;
        },
      );
    });
    server.pause();
    client.write(Buffer.alloc(1000));
    await new Promise((r) => setTimeout(r, 100));
    expect(bytes).toBe(0);
    const done = new Promise<void>((resolve) => server.on('end', () => resolve()));
    server.resume();
    client.end(Buffer.alloc(500));
    await done;
    expect(bytes).toBe(1500);
  });

  it('declines a socket that is already reading into a buffer of its own', async () => {
    const server = net.createServer(() => undefined);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect({ port, host: '127.0.0.1', onread: { buffer: Buffer.alloc(16), callback: () => true } });
    await new Promise((r) => socket.once('connect', r));
    const decline = receiveInto(
      socket,
      () => Buffer.alloc(16),
      () => undefined,
    );
    socket.destroy();
    expect(decline).toBe(false);
  });
});
