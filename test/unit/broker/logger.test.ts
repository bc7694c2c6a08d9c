import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../broker/logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON lines with the level, name, pid, host and the context of child loggers', () => {
    const { lines, destination } = capture();
    const log = createLogger('info', { destination });
    log.child({ component: 'admin' }).info({ port: 9644 }, 'admin API listening');
    log.debug('dropped below the level');
    log.error({ err: new Error('disk full') }, 'append failed');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 30,
      name: 'berth',
      pid: process.pid,
      component: 'admin',
      port: 9644,
      msg: 'admin API listening',
    });
    expect(lines[0].hostname).toBeTypeOf('string');
    expect(lines[0].time).toBeTypeOf('number');
    expect(lines[1]).toMatchObject({ level: 50, msg: 'append failed', err: { message: 'disk full', type: 'Error' } });
  });
});
