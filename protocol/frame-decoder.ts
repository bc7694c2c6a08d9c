/**
 * Splits a byte stream into Kafka frames (int32 size, then that many bytes), sans-I/O.
 * The size is checked against a limit before anything is allocated for the frame; a frame that arrives in one
 * chunk is returned as a slice of it (no copy), otherwise its chunks are joined once.
 */
import { ErrorCode, KafkaError } from './error-codes.js';

export class FrameTooLargeError extends KafkaError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(ErrorCode.INVALID_REQUEST, `frame of ${size} bytes exceeds the limit of ${limit}`);
    this.name = 'FrameTooLargeError';
  }
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1; // size of the frame being assembled, -1 while its size prefix is incomplete

  constructor(
    private readonly maxFrameBytes: number,
    private readonly minFrameBytes = 0,
  ) {}

  /** Bytes received towards the next frame (0 between frames). */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Feeds a chunk; returns the frames it completes, without their size prefix. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    if (this.buffered === 0) {
      // Fast path: whole frames inside this chunk are sliced without copying.
      let pos = 0;
      while (chunk.length - pos >= 4) {
        const size = this.checkSize(chunk.readInt32BE(pos));
        if (chunk.length - pos - 4 < size) break;
        frames.push(chunk.subarray(pos + 4, pos + 4 + size));
        pos += 4 + size;
      }
      if (pos === chunk.length) return frames;
      chunk = chunk.subarray(pos);
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        this.need = this.checkSize(this.peekSize());
      }
      if (this.buffered < 4 + this.need) break;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
      frames.push(all.subarray(4, 4 + this.need));
      const rest = all.subarray(4 + this.need);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.need = -1;
    }
    return frames;
  }

  private peekSize(): number {
    const head = this.chunks[0].length >= 4 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    if (head !== this.chunks[0]) this.chunks = [head];
    return head.readInt32BE(0);
  }

  private checkSize(size: number): number {
    if (size < this.minFrameBytes || size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
    return size;
  }
}
