import { describe, expect, it } from 'vitest';
import { type FileRange, partsLength, type ResponseParts, skipBytes } from '../../../broker/outbound.js';

describe('skipBytes', () => {
  const range: FileRange = { fd: 7, position: 1000, length: 50 };
  const parts: ResponseParts = [Buffer.from('head'), range, Buffer.from('mid'), { fd: 8, position: 0, length: 10 }];

  it('drops whole parts and cuts into the one where the count ends (buffers and file ranges alike)', () => {
    expect(skipBytes(parts, 0)).toEqual(parts);
    expect(skipBytes(parts, 2)).toEqual([Buffer.from('ad'), range, Buffer.from('mid'), parts[3]]);
    expect(skipBytes(parts, 4)).toEqual([range, Buffer.from('mid'), parts[3]]);
    expect(skipBytes(parts, 24)).toEqual([{ fd: 7, position: 1020, length: 30 }, Buffer.from('mid'), parts[3]]);
    expect(skipBytes(parts, 55)).toEqual([Buffer.from('id'), parts[3]]);
    expect(skipBytes(parts, partsLength(parts))).toEqual([]);
  });

  it('leaves the parts it is given as they were', () => {
    skipBytes(parts, 30);
    expect(parts[1]).toEqual({ fd: 7, position: 1000, length: 50 });
    expect(parts[0]).toEqual(Buffer.from('head'));
  });
});
