/**
 * Typed errors for record batches. Each carries the Kafka error code a producer (or a replica) should see, so the
 * produce handler and log recovery can map them without parsing messages.
 */
import { ErrorCode, KafkaError } from '../error-codes.js';

/** Bytes that cannot be a valid record batch: bad CRC, lengths that lie, truncated records (CORRUPT_MESSAGE). */
export class CorruptRecordError extends KafkaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CORRUPT_MESSAGE, message, options);
    this.name = 'CorruptRecordError';
  }
}

/** A well-formed batch that breaks a rule of the format or of the produce path (INVALID_RECORD). */
export class InvalidRecordError extends KafkaError {
  constructor(message: string) {
    super(ErrorCode.INVALID_RECORD, message);
    this.name = 'InvalidRecordError';
  }
}

/** Message sets of magic 0 or 1 (pre-0.11 formats), which Berth does not store or serve. */
export class UnsupportedMessageFormatError extends KafkaError {
  readonly magic: number;
  constructor(magic: number) {
    super(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `message format magic ${magic} is not supported (only magic 2)`);
    this.name = 'UnsupportedMessageFormatError';
    this.magic = magic;
  }
}

/** A compression code outside 0-4. */
export class UnsupportedCompressionTypeError extends KafkaError {
  readonly compressionCode: number;
  constructor(compressionCode: number, message?: string) {
    super(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message ?? `unsupported compression type ${compressionCode}`);
    this.name = 'UnsupportedCompressionTypeError';
    this.compressionCode = compressionCode;
  }
}

/**
 * Decompressed records would exceed the caller's limit. MESSAGE_TOO_LARGE makes a Java producer split the batch and
 * retry, which is the useful reaction for an honest client; a decompression bomb simply fails.
 */
export class DecompressionLimitError extends KafkaError {
  readonly limit: number;
  constructor(codec: string, limit: number) {
    super(ErrorCode.MESSAGE_TOO_LARGE, `${codec} records decompress to more than ${limit} bytes`);
    this.name = 'DecompressionLimitError';
    this.limit = limit;
  }
}
