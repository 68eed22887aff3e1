import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';

/** A destination that records what the logger writes, optionally pretending to be a terminal. */
function sink(isTTY: boolean): Writable & { text(): string; isTTY: boolean } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { text(): string; isTTY: boolean };
  stream.isTTY = isTTY;
  stream.text = () => chunks.join('');
  return stream;
}

const logging = { level: 'info', connections: 'debug', rejections: 'info' } as const;

describe('logging.format', () => {
  it('json writes one JSON object per line, even on a terminal', () => {
    const out = sink(true);
    createLogger({ ...logging, format: 'json' }, out).info({ conn: 7 }, 'hello');
    expect(JSON.parse(out.text().trim())).toMatchObject({ level: 30, conn: 7, msg: 'hello' });
  });

  it('auto writes JSON when the destination is not a terminal', () => {
    const out = sink(false);
    createLogger({ ...logging, format: 'auto' }, out).info('plain');
    expect(JSON.parse(out.text().trim())).toMatchObject({ msg: 'plain' });
  });

  it('auto on a terminal, and pretty anywhere, write readable lines rather than JSON', () => {
    for (const [format, isTTY] of [
      ['auto', true],
      ['pretty', false],
    ] as const) {
      const out = sink(isTTY);
      createLogger({ ...logging, format }, out).info({ conn: 7 }, 'readable');
      const text = out.text();
      expect(text).toContain('readable');
      expect(text).toMatch(/INFO/);
      expect(() => JSON.parse(text.trim())).toThrow();
    }
  });

  it('honours the level', () => {
    const out = sink(false);
    const log = createLogger({ ...logging, level: 'warn', format: 'json' }, out);
    log.info('dropped');
    log.warn('kept');
    expect(out.text()).not.toContain('dropped');
    expect(out.text()).toContain('kept');
  });
});
