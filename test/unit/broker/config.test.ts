import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BrokerConfig, ConfigError, configFromEnv, readConfigFile } from '../../../broker/config.js';
import { parseProperties } from '../../../broker/properties.js';

describe('parseProperties', () => {
  it('reads the forms of Java properties files', () => {
    const text = [
      '# comment',
      '! also a comment',
      'log.segment.bytes=1024',
      'num.partitions : 3',
      'host 127.0.0.1',
      'advertised.listeners = PLAINTEXT://example\\',
      '    .com:9092',
      'escaped\\=key=a\\tb',
      'empty=',
    ].join('\n');
    const p = parseProperties(text);
    expect(p.get('log.segment.bytes')).toBe('1024');
    expect(p.get('num.partitions')).toBe('3');
    expect(p.get('host')).toBe('127.0.0.1');
    expect(p.get('advertised.listeners')).toBe('PLAINTEXT://example.com:9092');
    expect(p.get('escaped=key')).toBe('a\tb');
    expect(p.get('empty')).toBe('');
    expect(p.size).toBe(6);
  });
});

describe('BrokerConfig', () => {
  it('layers defaults, file, env and overrides with their sources', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
    const file = join(dir, 'server.properties');
    writeFileSync(file, 'log.segment.bytes=2048\nnum.partitions=4\n');
    const cfg = new BrokerConfig([
      { source: 'file', values: readConfigFile(file) },
      { source: 'env', values: configFromEnv({ BERTH_NUM_PARTITIONS: '6', UNRELATED: 'x' }) },
      { source: 'override', values: new Map([['port', '0']]) },
    ]);
    expect(cfg.number('log.segment.bytes')).toBe(2048);
    expect(cfg.entry('log.segment.bytes').source).toBe('file');
    expect(cfg.number('num.partitions')).toBe(6);
    expect(cfg.entry('num.partitions').source).toBe('env');
    expect(cfg.number('port')).toBe(0);
    expect(cfg.entry('message.max.bytes').source).toBe('default');
    expect(cfg.topicDefaults()['segment.bytes']).toBe('2048');
  });

  it('log.preallocate is the broker-wide default of the preallocate topic config', () => {
    expect(new BrokerConfig([]).topicDefaults().preallocate).toBe('true');
    const off = new BrokerConfig([{ source: 'override', values: new Map([['log.preallocate', 'false']]) }]);
    expect(off.topicDefaults().preallocate).toBe('false');
  });

  it('names the bad setting in its error', () => {
    const bad = (name: string, value: string) => () =>
      new BrokerConfig([{ source: 'override', values: new Map([[name, value]]) }]);
    expect(bad('port', 'abc')).toThrow(/invalid setting port: expected an integer/);
    expect(bad('port', '70000')).toThrow(/above the maximum/);
    expect(bad('io.engine', 'fast')).toThrow(/io.engine: expected one of auto, uring, sync/);
    expect(bad('auto.create.topics.enable', 'yes')).toThrow(ConfigError);
    expect(bad('no.such.setting', '1')).toThrow(/unknown setting/);
  });
});
