import { describe, expect, it } from 'vitest';
import { formatTable, formatTimestamp, renderBytes, toJson } from '../../../cli/output.js';

describe('formatTable', () => {
  it('pads columns to the widest cell, right-aligns numbers and shows missing cells as -', () => {
    const t = formatTable(
      ['TOPIC', 'PARTITIONS', 'ID'],
      [
        ['orders', 12, 'abc'],
        ['x', 3n, null],
      ],
    );
    expect(t).toBe(['TOPIC   PARTITIONS  ID', 'orders          12  abc', 'x                3  -'].join('\n'));
  });

  it('prints only the header for no rows', () => {
    expect(formatTable(['A', 'B'], [])).toBe('A  B');
  });
});

describe('toJson', () => {
  it('writes bigints as strings and Buffers as base64', () => {
    expect(toJson({ offset: 2n ** 62n, key: Buffer.from('hi'), n: [1n] }, false)).toBe(
      `{"offset":"${2n ** 62n}","key":"aGk=","n":["1"]}`,
    );
  });
});

describe('renderBytes and formatTimestamp', () => {
  it('renders bytes in the chosen encoding and keeps null', () => {
    expect(renderBytes(Buffer.from('ab'), 'hex')).toBe('6162');
    expect(renderBytes(Buffer.from('ab'), 'utf8')).toBe('ab');
    expect(renderBytes(null, 'base64')).toBeNull();
  });

  it('formats epoch ms as ISO and leaves -1 alone', () => {
    expect(formatTimestamp(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(formatTimestamp(-1n)).toBe('-1');
    expect(formatTimestamp(null)).toBeNull();
  });
});
