import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BrokerConfig } from '../../../broker/config.js';
import { preallocationDefault } from '../../../broker/preallocation-default.js';

const dir = realpathSync(tmpdir());
const ext4Discard = '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n';
const ext4Plain = '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n';

function capture(): { log: pino.Logger; lines: Array<{ msg: string; mountPoint?: string }> } {
  const lines: Array<{ msg: string; mountPoint?: string }> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('preallocationDefault', () => {
  it('turns the default off on ext4 mounted with discard, and says so once', () => {
    const config = new BrokerConfig([]);
    const { log, lines } = capture();
    preallocationDefault(config, dir, log, ext4Discard);
    expect(config.boolean('log.preallocate')).toBe(false);
    expect(config.entry('log.preallocate').source).toBe('default');
    expect(config.topicDefaults().preallocate).toBe('false');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toMatch(/^log\.preallocate: false by default here/);
    expect(lines[0]!.mountPoint).toBe('/');
  });
  it('keeps preallocation elsewhere', () => {
    const config = new BrokerConfig([]);
    const { log, lines } = capture();
    preallocationDefault(config, dir, log, ext4Plain);
    expect(config.boolean('log.preallocate')).toBe(true);
    expect(lines).toHaveLength(0);
  });
  it("leaves an operator's own setting alone", () => {
    const config = new BrokerConfig([{ source: 'env', values: new Map([['log.preallocate', 'true']]) }]);
    const { log, lines } = capture();
    preallocationDefault(config, dir, log, ext4Discard);
    expect(config.boolean('log.preallocate')).toBe(true);
    expect(lines).toHaveLength(0);
  });
});
