import { describe, expect, it } from 'vitest';
import { ErrorCode, errorCodeName, KafkaError } from '../../../protocol/error-codes.js';

describe('ErrorCode', () => {
  it('matches the numbers Kafka clients match on (a regression: 81 and 82 were once missing)', () => {
    expect(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE).toBe(80);
    expect(ErrorCode.GROUP_MAX_SIZE_REACHED).toBe(81);
    expect(ErrorCode.FENCED_INSTANCE_ID).toBe(82);
    expect(ErrorCode.INVALID_RECORD).toBe(87);
    expect(ErrorCode.PRODUCER_FENCED).toBe(90);
    expect(ErrorCode.POSITION_OUT_OF_RANGE).toBe(99);
    expect(ErrorCode.UNKNOWN_TOPIC_ID).toBe(100);
  });

  it('has no gaps or duplicates from -1 to the last code', () => {
    const codes = Object.values(ErrorCode).sort((a, b) => a - b);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).toEqual(Array.from({ length: codes.length }, (_, i) => i - 1));
  });

  it('names codes and carries them on KafkaError', () => {
    expect(errorCodeName(3)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(errorCodeName(9999)).toBe('UNKNOWN_ERROR_CODE_9999');
    expect(new KafkaError(ErrorCode.NOT_COORDINATOR).errorName).toBe('NOT_COORDINATOR');
  });
});
