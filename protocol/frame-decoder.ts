/**
 * Splits a byte stream into Kafka frames (int32 size, then that many bytes), sans-I/O. The size is checked against
 * a limit before anything is allocated for the frame. Two ways to feed it:
 * - push(chunk): chunks the caller owns. A frame inside one chunk is returned as a slice of it (no copy); one that
 *   spans chunks is copied, chunk by chunk as they arrive, into one buffer of its size (from `allocate`, which may
 *   hand out reused memory).
 * - receiveBuffer() / received(n): the caller reads the socket straight into the buffer we name. Between frames
 *   that is a staging buffer of ours (reused, so small frames are copied out of it; 32 KiB, grown to 256 KiB once
 *   a read fills it); once a large frame's size is known, it is the rest of that frame's own buffer, so its bytes
 *   land where they stay and are never copied by us. The two ways must not be mixed on one decoder.
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

/** Returns a buffer of at least `size` bytes for a frame assembled from several chunks. */
export type FrameAllocator = (size: number) => Buffer;

const allocateFresh: FrameAllocator = (size) => Buffer.allocUnsafe(size);

/** Staging buffer for reads between frames. */
const STAGE_BYTES = 32 * 1024;
/**
 * The stage grows to this once a read fills all the room it was offered (the client has more queued than the
 * stage holds): many small frames then arrive in one read rather than one or two reads each. On our VM a read
 * costs 5-15 us, copying a 16 KiB frame out of the stage about 1 us. Idle and slow connections keep the small one.
 */
const BIG_STAGE_BYTES = 256 * 1024;
/** A partial frame at least this large is received straight into its own buffer rather than staged. */
const DIRECT_FRAME_BYTES = 16 * 1024;
/** ... and with the big stage. */
const BIG_DIRECT_FRAME_BYTES = 64 * 1024;
/**
 * The first read after a large frame takes at most this much: the next frame is likely large too, and what a
 * staged read takes of it is copied, while the rest goes straight to its own buffer.
 */
const READ_AFTER_DIRECT_BYTES = 4 * 1024;
/** Below this much free room at the stage's end, staged bytes move to its start before the next read. */
const MIN_STAGE_ROOM = 8 * 1024;

export class FrameDecoder {
  /** Bytes of a size prefix split across chunks. */
  private readonly prefix = Buffer.alloc(4);
  private prefixBytes = 0;
  /** The frame being assembled (null between frames), its size and how much of it has arrived. */
  private frame: Buffer | null = null;
  private need = 0;
  private filled = 0;
  /** receiveBuffer mode: staged bytes not yet framed are stage[stageStart, stageEnd). */
  private stage: Buffer | null = null;
  private stageStart = 0;
  private stageEnd = 0;
  /** The last frame was received straight into its own buffer. */
  private afterDirect = false;
  /** Bytes the last receiveBuffer() offered in the stage. */
  private offered = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly minFrameBytes = 0,
    private readonly allocate: FrameAllocator = allocateFresh,
  ) {}

  /** Bytes received towards the next frame (0 between frames). */
  get pendingBytes(): number {
    return this.frame ? 4 + this.filled : this.prefixBytes + this.stageEnd - this.stageStart;
  }

  /** Where the next read should put its bytes (receiveBuffer mode); then call received() with how many it put. */
  receiveBuffer(): Buffer {
    if (this.frame) return this.frame.subarray(this.filled, this.need);
    this.stage ??= Buffer.allocUnsafeSlow(STAGE_BYTES);
    if (this.stageStart === this.stageEnd) {
      this.stageStart = 0;
      this.stageEnd = 0;
    } else if (this.stage.length - this.stageEnd < MIN_STAGE_ROOM) {
      this.stage.copyWithin(0, this.stageStart, this.stageEnd);
      this.stageEnd -= this.stageStart;
      this.stageStart = 0;
    }
    if (!this.afterDirect) {
      this.offered = this.stage.length - this.stageEnd;
      return this.stage.subarray(this.stageEnd);
    }
    this.afterDirect = false;
    this.offered = READ_AFTER_DIRECT_BYTES;
    return this.stage.subarray(this.stageEnd, this.stageEnd + READ_AFTER_DIRECT_BYTES);
  }

  /** `n` bytes were read into the start of the last receiveBuffer(); returns the frames they complete. */
  received(n: number): Buffer[] {
    const frames: Buffer[] = [];
    if (this.frame) {
      this.filled += n;
      if (this.filled === this.need) {
        frames.push(this.frame.subarray(0, this.need));
        this.frame = null;
        this.afterDirect = true;
      }
      return frames;
    }
    let stage = this.stage!;
    this.stageEnd += n;
    if (n === this.offered && this.offered >= DIRECT_FRAME_BYTES && stage.length < BIG_STAGE_BYTES) {
      const big = Buffer.allocUnsafeSlow(BIG_STAGE_BYTES);
      stage.copy(big, 0, this.stageStart, this.stageEnd);
      this.stageEnd -= this.stageStart;
      this.stageStart = 0;
      this.stage = big;
      stage = big;
    }
    const directFrom = stage.length >= BIG_STAGE_BYTES ? BIG_DIRECT_FRAME_BYTES : DIRECT_FRAME_BYTES;
    while (this.stageEnd - this.stageStart >= 4) {
      const at = this.stageStart;
      const size = this.checkSize(stage.readInt32BE(at));
      const available = this.stageEnd - at - 4;
      if (available >= size) {
        // Copied out: the stage is reused by the next read.
        const frame = this.allocate(size);
        stage.copy(frame, 0, at + 4, at + 4 + size);
        frames.push(frame.subarray(0, size));
        this.stageStart = at + 4 + size;
        continue;
      }
      if (size >= directFrom) {
        // Large: the rest of it is read straight into its own buffer. A small one stays staged (it fits once the
        // stage is compacted: DIRECT_FRAME_BYTES + 4 <= STAGE_BYTES - MIN_STAGE_ROOM, and likewise for the big
        // stage).
        this.frame = this.allocate(size);
        stage.copy(this.frame, 0, at + 4, this.stageEnd);
        this.need = size;
        this.filled = available;
        this.stageStart = this.stageEnd;
      }
      break;
    }
    return frames;
  }

  /** Feeds a chunk; returns the frames it completes, without their size prefix. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      if (this.frame) {
        const n = Math.min(this.need - this.filled, length - pos);
        chunk.copy(this.frame, this.filled, pos, pos + n);
        this.filled += n;
        pos += n;
        if (this.filled === this.need) {
          frames.push(this.frame.subarray(0, this.need));
          this.frame = null;
        }
        continue;
      }
      let size: number;
      if (this.prefixBytes > 0 || length - pos < 4) {
        const n = Math.min(4 - this.prefixBytes, length - pos);
        chunk.copy(this.prefix, this.prefixBytes, pos, pos + n);
        this.prefixBytes += n;
        pos += n;
        if (this.prefixBytes < 4) break;
        this.prefixBytes = 0;
        size = this.checkSize(this.prefix.readInt32BE(0));
      } else {
        size = this.checkSize(chunk.readInt32BE(pos));
        pos += 4;
        // Fast path: a whole frame inside this chunk is a slice of it.
        if (length - pos >= size) {
          frames.push(chunk.subarray(pos, pos + size));
          pos += size;
          continue;
        }
      }
      this.need = size;
      this.filled = 0;
      this.frame = this.allocate(size);
      if (size === 0) {
        frames.push(this.frame.subarray(0, 0));
        this.frame = null;
      }
    }
    return frames;
  }

  private checkSize(size: number): number {
    if (size < this.minFrameBytes || size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
    return size;
  }
}
