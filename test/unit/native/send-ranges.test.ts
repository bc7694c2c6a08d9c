import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative, type NativeError, type SendRange } from '../../../native/index.js';
import { seededBytes, tempDir } from './helpers.js';

const native = loadNative();

interface Connection {
  client: Socket;
  fd: number;
  /** Everything the server side received once the client ends. */
  received: Promise<Buffer>;
}

function socketFd(s: Socket): number {
  // Node keeps the descriptor on the libuv handle; no public API exposes it.
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no fd on this socket');
  return fd;
}

function send(
  fd: number,
  head: Buffer | null,
  ranges: SendRange[],
): Promise<{ err: NativeError | null; bytes: number }> {
  return new Promise((resolve) => native!.sendRanges(fd, head, ranges, (err, bytes) => resolve({ err, bytes })));
}

describe.runIf(native)('sendRanges', () => {
  const tmp = tempDir('send');
  let server: Server;
  let port = 0;
  const accepted: Array<(s: Socket) => void> = [];
  const big = seededBytes(64 << 20, 11);
  const small = seededBytes(100_000, 12);
  let bigFd = -1;
  let smallFd = -1;

  beforeAll(async () => {
    writeFileSync(tmp.file('big.log'), big);
    writeFileSync(tmp.file('small.log'), small);
    bigFd = openSync(tmp.file('big.log'), 'r');
    smallFd = openSync(tmp.file('small.log'), 'r');
    server = createServer((s) => accepted.shift()?.(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    closeSync(bigFd);
    closeSync(smallFd);
    await new Promise((r) => server.close(r));
    tmp.remove();
  });

  async function open(opts: { slowReader?: boolean } = {}): Promise<Connection> {
    const serverSide = new Promise<Socket>((r) => accepted.push(r));
    const client = connect(port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', () => r()));
    const peer = await serverSide;
    const received = new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      if (opts.slowReader) {
        // Pause first, so the client's socket buffer fills and sendfile meets EAGAIN for certain.
        peer.pause();
        setTimeout(() => peer.resume(), 50);
      }
      peer.on('data', (c) => chunks.push(c));
      peer.on('end', () => resolve(Buffer.concat(chunks)));
      peer.on('error', reject);
    });
    return { client, fd: socketFd(client), received };
  }

  it('writes the head, then every range, in order', async () => {
    const c = await open();
    const head = Buffer.from('HEAD-0123456789');
    const ranges = [
      { fd: smallFd, offset: 0, length: 10 },
      { fd: bigFd, offset: 1000, length: 5000 },
      { fd: smallFd, offset: 99_000, length: 1000 },
      { fd: smallFd, offset: 5, length: 0 },
      { fd: bigFd, offset: 3, length: 1 },
    ];
    const r = await send(c.fd, head, ranges);
    expect(r.err).toBeNull();
    const expected = Buffer.concat([
      head,
      small.subarray(0, 10),
      big.subarray(1000, 6000),
      small.subarray(99_000, 100_000),
      big.subarray(3, 4),
    ]);
    expect(r.bytes).toBe(expected.length);
    c.client.end();
    expect((await c.received).equals(expected)).toBe(true);
  });

  it('sends a 64 MiB range through a full socket (EAGAIN), then more ranges, exactly', async () => {
    const c = await open({ slowReader: true });
    const head = seededBytes(70_000, 13);
    const ranges = [
      { fd: smallFd, offset: 1, length: 50_000 },
      { fd: bigFd, offset: 0, length: big.length },
      { fd: smallFd, offset: 0, length: small.length },
    ];
    const r = await send(c.fd, head, ranges);
    expect(r.err).toBeNull();
    const expected = Buffer.concat([head, small.subarray(1, 50_001), big, small]);
    expect(r.bytes).toBe(expected.length);
    // The socket is still usable from Node afterwards, and the bytes follow the native ones.
    c.client.end(Buffer.from('TAIL'));
    const got = await c.received;
    expect(got.length).toBe(expected.length + 4);
    expect(got.subarray(0, expected.length).equals(expected)).toBe(true);
    expect(got.subarray(expected.length).toString()).toBe('TAIL');
  });

  it('serves several sockets at once, each waiting for its own reader', async () => {
    const conns = await Promise.all([0, 1, 2].map(() => open({ slowReader: true })));
    const plans = conns.map((_, i) => [
      { fd: bigFd, offset: i * 1_000_000, length: 20 << 20 },
      { fd: smallFd, offset: i, length: 1000 },
    ]);
    const results = await Promise.all(conns.map((c, i) => send(c.fd, Buffer.from(`head${i}`), plans[i])));
    for (let i = 0; i < conns.length; i++) {
      expect(results[i].err).toBeNull();
      conns[i].client.end();
      const expected = Buffer.concat([
        Buffer.from(`head${i}`),
        big.subarray(i * 1_000_000, i * 1_000_000 + (20 << 20)),
        small.subarray(i, i + 1000),
      ]);
      expect(results[i].bytes).toBe(expected.length);
      expect((await conns[i].received).equals(expected)).toBe(true);
    }
  });

  /** The addon itself, whose sendRanges says whether the send finished in the call (the wrapper hides that). */
  function rawAddon(): {
    sendRanges(
      fd: number,
      head: Buffer | null,
      ranges: Float64Array,
      cb: (err: NativeError | null, n: number) => void,
    ): unknown;
  } {
    const addonPath = fileURLToPath(new URL('../../../build/Release/berth_native.node', import.meta.url));
    return createRequire(import.meta.url)(addonPath);
  }

  it('sends up to 64 KiB in the call, and anything larger on the send thread, which calls back with every byte', async () => {
    const addon = rawAddon();
    const c = await open();
    const inline = addon.sendRanges(c.fd, null, new Float64Array([smallFd, 0, 60_000]), () => {});
    expect(inline).toEqual({ error: null, bytesSent: 60_000 });
    const sent = await new Promise<number>((resolve, reject) => {
      const r = addon.sendRanges(c.fd, Buffer.from('h'), new Float64Array([bigFd, 0, 1 << 20]), (err, n) =>
        err ? reject(err) : resolve(n),
      );
      expect(r).toBeUndefined(); // handed over even though the socket had room
    });
    expect(sent).toBe(1 + (1 << 20));
    c.client.end();
    const expected = Buffer.concat([small.subarray(0, 60_000), Buffer.from('h'), big.subarray(0, 1 << 20)]);
    expect((await c.received).equals(expected)).toBe(true);
  });

  it('says when its send thread cannot be started, with the bytes sent before, and still sends small ranges', () => {
    const addonPath = fileURLToPath(new URL('../../../build/Release/berth_native.node', import.meta.url));
    const script = `
      const fs = require('fs');
      const net = require('net');
      const addon = require(${JSON.stringify(addonPath)});
      const smallFd = fs.openSync(${JSON.stringify(tmp.file('small.log'))}, 'r');
      const bigFd = fs.openSync(${JSON.stringify(tmp.file('big.log'))}, 'r');
      const server = net.createServer((peer) => { peer.resume(); server.close(); });
      server.listen(0, '127.0.0.1', () => {
        const c = net.connect(server.address().port, '127.0.0.1', () => {
          const small = addon.sendRanges(c._handle.fd, null, new Float64Array([smallFd, 0, 1000]), () => {});
          const large = addon.sendRanges(c._handle.fd, null, new Float64Array([bigFd, 0, ${1 << 20}]), () => {});
          const { error, ...rest } = large;
          process.stdout.write(JSON.stringify({ small, large: { ...rest, code: error.code, syscall: error.syscall } }));
          c.destroy();
        });
      });`;
    const out = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, BERTH_FAULT_SEND_THREAD: '1' },
    });
    expect(JSON.parse(out)).toEqual({
      small: { error: null, bytesSent: 1000 },
      large: { bytesSent: 0, noSendThread: true, code: 'EAGAIN', syscall: 'pthread_create' },
    });
  });

  it('keeps sending from its own descriptors when the caller closes the file and the number is reused', async () => {
    const c = await open({ slowReader: true });
    const fileFd = openSync(tmp.file('big.log'), 'r');
    const length = 32 << 20;
    const p = send(c.fd, null, [{ fd: fileFd, offset: 0, length }]);
    closeSync(fileFd);
    // Most likely the same number: a send still using it would now read this file, or fail.
    const decoyFd = openSync(tmp.file('decoy.log'), 'w+');
    writeFileSync(decoyFd, 'decoy');
    const r = await p;
    closeSync(decoyFd);
    expect(r).toEqual({ err: null, bytes: length });
    c.client.end();
    expect((await c.received).equals(big.subarray(0, length))).toBe(true);
    expect(readFileSync(tmp.file('decoy.log'), 'utf8')).toBe('decoy');
  });

  it('stops a send to a peer that does not read once the socket is shut down (shutdownSocket)', async () => {
    const serverSide = new Promise<Socket>((r) => accepted.push(r));
    const client = connect(port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', () => r()));
    client.on('error', () => {}); // the shutdown may surface on the client's own reads too
    const peer = await serverSide;
    peer.pause(); // and never resumed: the send can only end by being stopped
    peer.on('error', () => {});
    let settled = false;
    const p = send(socketFd(client), null, [{ fd: bigFd, offset: 0, length: big.length }]).finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    native!.shutdownSocket(socketFd(client));
    const r = await p;
    expect(r.err?.code).toBe('EPIPE');
    expect(r.bytes).toBeLessThan(big.length);
    client.destroy();
    peer.destroy();
  });

  it('works in a worker thread while the main thread has its own sends', async () => {
    const addonPath = fileURLToPath(new URL('../../../build/Release/berth_native.node', import.meta.url));
    const script = `
      const { parentPort } = require('worker_threads');
      const net = require('net');
      const addon = require(${JSON.stringify(addonPath)});
      const server = net.createServer((peer) => {
        let n = 0;
        peer.pause();
        setTimeout(() => peer.resume(), 50);
        peer.on('data', (d) => { n += d.length; });
        peer.on('end', () => { parentPort.postMessage(n); server.close(); });
      });
      server.listen(0, '127.0.0.1', () => {
        const c = net.connect(server.address().port, '127.0.0.1', () => {
          const r = addon.sendRanges(c._handle.fd, null, new Float64Array([${bigFd}, 0, ${16 << 20}]), (err, bytes) => {
            if (err) throw err;
            c.end();
          });
          if (r !== undefined) throw new Error('expected the send to wait for the reader');
        });
      });`;
    const main = await open({ slowReader: true });
    const mainSend = send(main.fd, null, [{ fd: bigFd, offset: 0, length: 16 << 20 }]);
    const received = await new Promise<number>((resolve, reject) => {
      const w = new Worker(script, { eval: true });
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(received).toBe(16 << 20);
    expect((await mainSend).bytes).toBe(16 << 20);
    main.client.end();
    expect((await main.received).equals(big.subarray(0, 16 << 20))).toBe(true);
  });

  it('does not keep the process alive for a send whose socket was destroyed under it', () => {
    const addonPath = fileURLToPath(new URL('../../../build/Release/berth_native.node', import.meta.url));
    const script = `
      const fs = require('fs');
      const net = require('net');
      const addon = require(${JSON.stringify(addonPath)});
      // The file opened here: the parent's descriptors are not inherited.
      const bigFd = fs.openSync(${JSON.stringify(tmp.file('big.log'))}, 'r');
      const server = net.createServer((peer) => { peer.pause(); server.close(); setTimeout(() => peer.destroy(), 100); });
      server.listen(0, '127.0.0.1', () => {
        const c = net.connect(server.address().port, '127.0.0.1', () => {
          const r = addon.sendRanges(c._handle.fd, null, new Float64Array([bigFd, 0, ${big.length}]), () => {});
          if (r !== undefined) throw new Error('expected the send to wait for the reader: ' + JSON.stringify(r));
          setTimeout(() => { c.destroy(); process.stdout.write('destroyed'); }, 50);
        });
      });`;
    // A hang here would mean the waiting job keeps the event loop alive; the timeout only bounds the damage.
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 })).toBe('destroyed');
  });

  it('calls back asynchronously even when everything was sent at once', async () => {
    const c = await open();
    let called = false;
    const p = new Promise<number>((resolve) =>
      native!.sendRanges(c.fd, null, [{ fd: smallFd, offset: 0, length: 100 }], (err, bytes) => {
        called = true;
        expect(err).toBeNull();
        resolve(bytes);
      }),
    );
    expect(called).toBe(false);
    expect(await p).toBe(100);
    const empty = await send(c.fd, null, []);
    expect(empty).toEqual({ err: null, bytes: 0 });
    c.client.end();
    expect((await c.received).equals(small.subarray(0, 100))).toBe(true);
  });

  it('reports a range past the end of its file as ENODATA, with the bytes sent before it', async () => {
    const c = await open();
    const r = await send(c.fd, Buffer.from('h'), [{ fd: smallFd, offset: small.length - 10, length: 20 }]);
    expect(r.err).toMatchObject({ code: 'ENODATA', syscall: 'sendfile' });
    expect(r.bytes).toBe(11);
    c.client.destroy();
  });

  it('reports EBADF for a bad socket fd or a bad file fd', async () => {
    const head = await send(1_000_000, Buffer.from('x'), []);
    expect(head.err).toMatchObject({ code: 'EBADF', errno: constants.errno.EBADF, syscall: 'send' });
    const file = await send(1_000_000, null, [{ fd: smallFd, offset: 0, length: 1 }]);
    expect(file.err).toMatchObject({ code: 'EBADF', syscall: 'sendfile' });
    const c = await open();
    const badFile = await send(c.fd, null, [{ fd: 1_000_000, offset: 0, length: 1 }]);
    expect(badFile.err).toMatchObject({ code: 'EBADF', syscall: 'sendfile' });
    c.client.destroy();
  });

  it('reports the peer going away mid-send as an error (EPIPE or ECONNRESET)', async () => {
    const serverSide = new Promise<Socket>((r) => accepted.push(r));
    const client = connect(port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', () => r()));
    // The reset reaches the client's own reads too (ECONNRESET), whichever of them and the send sees it first.
    const clientErrors: Error[] = [];
    client.on('error', (e) => clientErrors.push(e));
    const peer = await serverSide;
    peer.pause();
    const p = send(socketFd(client), null, [{ fd: bigFd, offset: 0, length: big.length }]);
    setTimeout(() => peer.resetAndDestroy(), 20);
    const r = await p;
    expect(r.err?.code).toMatch(/^(EPIPE|ECONNRESET)$/);
    expect(r.bytes).toBeLessThan(big.length);
    for (const e of clientErrors) expect((e as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    client.destroy();
  });
});
