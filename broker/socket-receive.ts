/**
 * Reads an accepted socket straight into buffers the caller names, instead of Node's fresh buffer per read.
 *
 * Why: by default Node allocates a new 64 KiB buffer for every read. At produce rates that is a page-faulting
 * allocation per read (the kernel's copy into it faults the pages in), external memory that drives V8's garbage
 * collector, and a second copy when a large frame is joined from its chunks. Node has the mechanism we want, the
 * `onread` socket option (reads land in a buffer chosen per read), but offers it only for sockets it connects, not
 * for the ones net.Server accepts. This applies the same mechanism to an accepted socket, the way Node's own
 * initSocketHandle does for `onread`: the socket's onread slots (own symbol-keyed properties, looked up by their
 * descriptions) and the handle's useUserBuffer().
 *
 * Where those internals are not there (another runtime, a future Node), receiveInto returns false and the caller
 * keeps using 'data' events: behaviour is the same, only slower. Reads are still paused and resumed with
 * socket.pause()/resume(), which Node maps to readStop/readStart for sockets read this way; EOF and errors arrive as
 * usual ('end', 'error', 'close'). No 'data' events are emitted.
 */
import type { Socket } from 'node:net';

interface OnreadSlots {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let slots: OnreadSlots | null | undefined;

function findSlots(socket: Socket): OnreadSlots | null {
  if (slots !== undefined) return slots;
  const byName = new Map<string, symbol>();
  for (const s of Object.getOwnPropertySymbols(socket)) if (s.description) byName.set(s.description, s);
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  slots = buffer && callback && generator ? { buffer, callback, generator } : null;
  return slots;
}

interface UserBufferHandle {
  useUserBuffer?: (buf: Uint8Array) => void;
}

/**
 * From now on, each read of `socket` lands at the start of `next()` (asked for once now and again after every read)
 * and is reported with `onRead(nread)`; `onRead` must be done with those bytes before it returns or must keep them
 * out of the way of the next read (the next buffer must not overlap bytes still in use). Returns false, doing
 * nothing, when this runtime does not offer the mechanism.
 */
export function receiveInto(socket: Socket, next: () => Buffer, onRead: (nread: number) => void): boolean {
  const s = findSlots(socket);
  const record = socket as unknown as Record<symbol, unknown>;
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (!s || typeof handle?.useUserBuffer !== 'function' || record[s.buffer] != null) return false;
  if (process.env.BERTH_SOCKET_DATA_EVENTS === '1') return false;
  const first = next();
  record[s.buffer] = first;
  record[s.callback] = (nread: number) => {
    onRead(nread);
  };
  record[s.generator] = next;
  handle.useUserBuffer(first);
  return true;
}
