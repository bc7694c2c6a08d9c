/**
 * A disk error (EIO, ENOSPC, ...) seen by the storage layer. Clients see KAFKA_STORAGE_ERROR; operators see errno,
 * the system call and the file in the message.
 */
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';

export class StorageError extends KafkaError {
  /** Node's error code string, such as 'EIO' or 'ENOSPC' ('' when the failure was not a system call). */
  readonly errno: string;
  readonly syscall: string;
  readonly path: string;
  constructor(message: string, fields: { errno?: string; syscall?: string; path?: string; cause?: unknown } = {}) {
    super(ErrorCode.KAFKA_STORAGE_ERROR, message, { cause: fields.cause });
    this.name = 'StorageError';
    this.errno = fields.errno ?? '';
    this.syscall = fields.syscall ?? '';
    this.path = fields.path ?? '';
  }

  /** Wraps a Node fs error (or a native addon error with the same fields) without losing its details. */
  static from(err: unknown, syscall: string, path = ''): StorageError {
    if (err instanceof StorageError) return err;
    const e = err as { code?: unknown; syscall?: unknown; message?: unknown; path?: unknown };
    const errno = typeof e?.code === 'string' ? e.code : '';
    const sys = typeof e?.syscall === 'string' ? e.syscall : syscall;
    const p = path || (typeof e?.path === 'string' ? e.path : '');
    const msg = typeof e?.message === 'string' ? e.message : String(err);
    return new StorageError(`${sys} failed${p ? ` on ${p}` : ''}: ${msg}`, {
      errno,
      syscall: sys,
      path: p,
      cause: err,
    });
  }
}

/** OFFSET_OUT_OF_RANGE with the range the log does hold, so a handler can log or answer precisely. */
export class OffsetOutOfRangeError extends KafkaError {
  readonly offset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  constructor(offset: number, logStartOffset: number, logEndOffset: number, what = 'partition') {
    super(
      ErrorCode.OFFSET_OUT_OF_RANGE,
      `offset ${offset} is out of range for ${what} [${logStartOffset}, ${logEndOffset}]`,
    );
    this.name = 'OffsetOutOfRangeError';
    this.offset = offset;
    this.logStartOffset = logStartOffset;
    this.logEndOffset = logEndOffset;
  }
}
