import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as nip19 from 'nostr-tools/nip19';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { ConfigError, defaultConfig, loadConfig, parseConfig, type ConfigProblem } from '../../src/config/load.js';
import { SCHEMA } from '../../src/config/schema.js';
import { defaultLimit } from '../../src/filter/compile.js';
import { readerCount } from '../../src/relay/queries.js';
import { valueAt } from '../helpers/config-values.js';

const RELAY_YAML = fileURLToPath(new URL('../../config/relay.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'commons-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function writeConfig(text: string): string {
  const file = join(dir, `relay-${++fileCount}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The problems a config text produces (fails the test when it is valid). */
function problemsOf(text: string, file = 'relay.yaml'): ConfigProblem[] {
  try {
    parseConfig(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const NO_ENV = {};

describe('defaults', () => {
  it('an empty file, a comment-only file and empty sections give the defaults', () => {
    const defaults = defaultConfig();
    expect(parseConfig('', 'a.yaml')).toEqual(defaults);
    expect(parseConfig('# nothing here\n\n# at all\n', 'a.yaml')).toEqual(defaults);
    expect(parseConfig('limits:\n  # max_limit: 10\nrelay:\n', 'a.yaml')).toEqual(defaults);
  });

  it('match the documented defaults', () => {
    const c = defaultConfig();
    expect(c.relay).toEqual({ host: '127.0.0.1', port: 7777, url: '', trusted_proxies: [] });
    expect(c.storage).toEqual({ path: './data/relay.sqlite', synchronous: 'full', writer_thread: true });
    expect(c.limits.created_at).toEqual({ max_future_seconds: 900, max_past_seconds: null });
    expect(c.limits.max_message_bytes).toBe(131072);
    expect(c.limits).toMatchObject({ max_limit: 500, default_limit: null }); // null = max_limit
    expect(c.logging).toEqual({ level: 'info', connections: 'debug', rejections: 'info', format: 'auto' });
  });

  it('every schema key has a description and reload flag', () => {
    for (const spec of SCHEMA) {
      expect(spec.description.length).toBeGreaterThan(10);
      expect(typeof spec.reloadable).toBe('boolean');
    }
    const reloadable = Object.fromEntries(SCHEMA.map((s) => [s.key, s.reloadable]));
    expect(reloadable).toMatchObject({
      'relay.host': false,
      'relay.port': false,
      'storage.path': false,
      'limits.max_limit': true,
      'info.name': true,
    });
  });
});

describe('config/relay.yaml', () => {
  const text = readFileSync(RELAY_YAML, 'utf8');

  it('parses to exactly the defaults', () => {
    expect(loadConfig(RELAY_YAML, undefined, NO_ENV)).toEqual(defaultConfig());
  });

  it('lists every schema key, each with a comment, and nothing else', () => {
    const doc = parseDocument(text);
    const found = new Map<string, string | undefined>();
    const walk = (map: YAMLMap, prefix: string): void => {
      map.items.forEach((pair, index) => {
        const name = isScalar(pair.key) ? String(pair.key.value) : '?';
        const comment = (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? (index === 0 ? map.commentBefore : undefined);
        if (isMap(pair.value)) walk(pair.value, `${prefix}${name}.`);
        else found.set(`${prefix}${name}`, comment ?? undefined);
      });
    };
    walk(doc.contents as YAMLMap, '');
    expect([...found.keys()].sort()).toEqual(SCHEMA.map((s) => s.key).sort());
    for (const [key, comment] of found) expect(comment, `comment above ${key}`).toMatch(/\w/);
  });
});

describe('problems', () => {
  it('unknown keys are reported with a "did you mean" hint', () => {
    const problems = problemsOf('limits:\n  max_subscription: 5\nport: 1\nrelay:\n  hots: x\nwrite_rules:\n  min_pow: 1\n');
    expect(problems).toEqual([
      { file: 'relay.yaml', key: 'limits.max_subscription', reason: 'unknown key (did you mean "limits.max_subscriptions"?)' },
      { file: 'relay.yaml', key: 'port', reason: 'unknown key (did you mean "relay.port"?)' },
      { file: 'relay.yaml', key: 'relay.hots', reason: 'unknown key (did you mean "relay.host"?)' },
      { file: 'relay.yaml', key: 'write_rules', reason: expect.stringContaining('unknown key') },
    ]);
  });

  it('wrong types name the key, the expected type and the value', () => {
    const problems = problemsOf('relay:\n  port: abc\ninfo:\n  name: 1984\nlimits: 5\nlogging:\n  level: warning\n');
    expect(problems.map((p) => `${p.key}: ${p.reason}`)).toEqual([
      'relay.port: expected an integer, got the string "abc"',
      'info.name: expected a string, got the number 1984 (put it in quotes)',
      expect.stringMatching(/^limits: expected a mapping of keys \(max_message_bytes, .*\), got the number 5$/),
      'logging.level: expected one of trace, debug, info, warn, error, fatal, silent, got the string "warning" (did you mean "warn"?)',
    ]);
    expect(problemsOf('limits:\n  max_limit: 1.5\n')[0]!.reason).toBe('expected an integer, got the number 1.5');
    expect(problemsOf('limits:\n  max_filters: [1]\n')[0]!.reason).toBe('expected an integer, got a list');
    expect(problemsOf('- a\n- b\n')[0]).toMatchObject({ key: '', reason: expect.stringContaining('top level must be a mapping') });
  });

  it('out-of-range values', () => {
    const problems = problemsOf(
      'relay:\n  port: 70000\nlimits:\n  max_message_bytes: 100\n  max_subid_length: 65\n  max_subscriptions: 0\n  max_event_tags: -1\n',
    );
    expect(problems.map((p) => `${p.key}: ${p.reason}`)).toEqual([
      'relay.port: must be from 0 to 65535, got 70000',
      'limits.max_message_bytes: must be at least 1024, got 100',
      'limits.max_subid_length: must be from 1 to 64, got 65',
      'limits.max_subscriptions: must be at least 1, got 0',
      'limits.max_event_tags: must be at least 0, got -1',
    ]);
    expect(parseConfig('relay:\n  port: 0\n', 'x').relay.port).toBe(0);
  });

  it('query.readers: auto (the default) or a whole number from 0 to 64; auto is half the threads, at least 1', () => {
    expect(defaultConfig().query.readers).toBe('auto');
    expect(parseConfig('query:\n  readers: 0\n', 'x').query.readers).toBe(0);
    expect(parseConfig('query:\n  readers: "3"\n', 'x').query.readers).toBe(3);
    for (const bad of ['-1', '65', '1.5', 'many']) {
      expect(problemsOf(`query:\n  readers: ${bad}\n`)[0]).toMatchObject({
        key: 'query.readers',
        reason: expect.stringMatching(/^expected auto \(half the connection threads, at least 1\) or a whole number from 0 to 64, got /),
      });
    }
    expect([1, 2, 3, 4, 8].map((threads) => readerCount('auto', threads))).toEqual([1, 1, 2, 2, 4]);
    expect(readerCount(0, 8)).toBe(0);
    expect(readerCount(3, 1)).toBe(3);
  });

  it('default_limit follows max_limit unless set, and may not exceed it', () => {
    expect(defaultLimit(defaultConfig().limits)).toBe(500);
    expect(defaultLimit(parseConfig('limits:\n  max_limit: 50\n', 'x').limits)).toBe(50);
    expect(defaultLimit(parseConfig('limits:\n  max_limit: 50\n  default_limit: 20\n', 'x').limits)).toBe(20);
    expect(problemsOf('limits:\n  max_limit: 50\n  default_limit: 100\n')).toEqual([
      { file: 'relay.yaml', key: 'limits.default_limit', reason: 'must not exceed limits.max_limit (50), got 100' },
    ]);
    expect(problemsOf('limits:\n  default_limit: 501\n')).toEqual([
      { file: 'relay.yaml', key: 'limits.default_limit', reason: 'must not exceed limits.max_limit (500), got 501' },
    ]);
    expect(parseConfig('limits:\n  max_limit: 50\n  default_limit: 50\n', 'x').limits.default_limit).toBe(50);
    // a broken max_limit is reported once, not again by the cross-key rule
    expect(problemsOf('limits:\n  max_limit: x\n')).toHaveLength(1);
  });

  it('null is accepted only where the key is nullable', () => {
    const config = parseConfig('limits:\n  created_at:\n    max_future_seconds: null\n    max_past_seconds: 86400\n', 'x');
    expect(config.limits.created_at).toEqual({ max_future_seconds: null, max_past_seconds: 86400 });
    expect(problemsOf('relay:\n  port:\nlimits:\n  created_at:\n    max_past_seconds: -5\n').map((p) => `${p.key}: ${p.reason}`)).toEqual([
      'relay.port: expected an integer, got null',
      'limits.created_at.max_past_seconds: must be at least 0, got -5',
    ]);
    expect(problemsOf('limits:\n  created_at:\n    max_past_seconds: soon\n')[0]!.reason).toBe(
      'expected an integer or null, got the string "soon"',
    );
  });

  it('several problems are reported at once, one per line of the message', () => {
    try {
      parseConfig('relay:\n  port: -1\n  host: ""\ninfo:\n  icon: ftp://x\nstorage:\n  synchronous: off\n  paht: a\n', 'my.yaml');
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message.split('\n')).toEqual([
        'my.yaml: relay.port: must be from 0 to 65535, got -1',
        'my.yaml: relay.host: must not be empty',
        'my.yaml: info.icon: expected an http:// or https:// URL, got the string "ftp://x"',
        'my.yaml: storage.synchronous: expected one of full, normal, got the string "off"',
        'my.yaml: storage.paht: unknown key (did you mean "storage.path"?)',
      ]);
    }
  });

  it('URLs are checked', () => {
    const ok = parseConfig('relay:\n  url: wss://relay.example.org\ninfo:\n  terms_of_service: https://example.org/tos\n', 'x');
    expect(ok.relay.url).toBe('wss://relay.example.org');
    expect(problemsOf('relay:\n  url: https://relay.example.org\ninfo:\n  banner: not a url\n').map((p) => p.key)).toEqual([
      'relay.url',
      'info.banner',
    ]);
  });
});

describe('info.pubkey', () => {
  const hex = '3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d';
  const npub = nip19.npubEncode(hex);

  it('accepts hex and converts an npub to hex', () => {
    expect(parseConfig(`info:\n  pubkey: ${hex}\n`, 'x').info.pubkey).toBe(hex);
    expect(parseConfig(`info:\n  pubkey: ${npub}\n`, 'x').info.pubkey).toBe(hex);
  });

  it('rejects bad keys and never echoes an nsec', () => {
    const nsec = nip19.nsecEncode(new Uint8Array(32).fill(7));
    const problems = problemsOf(`info:\n  pubkey: ${nsec}\n`);
    expect(problems[0]!.reason).toContain('SECRET');
    expect(problems[0]!.reason).not.toContain(nsec);
    expect(problemsOf(`info:\n  pubkey: ${hex.toUpperCase()}\n`)[0]!.reason).toContain('lower case');
    expect(problemsOf(`info:\n  pubkey: ${npub.slice(0, -1)}x\n`)[0]!.reason).toContain('not a valid npub');
    expect(problemsOf('info:\n  pubkey: abc\n')[0]!.reason).toContain('64 lowercase hex');
  });
});

describe('YAML syntax errors', () => {
  it('name the file, line and column', () => {
    const problems = problemsOf('relay:\n  host: 127.0.0.1\n  port: 7777: 1\n', 'bad.yaml');
    expect(problems[0]).toMatchObject({ file: 'bad.yaml', key: 'line 3, column 9' });
    expect(problems[0]!.reason).toMatch(/mapping/i);
    expect(problemsOf('relay:\n  port: 1\n  port: 2\n', 'dup.yaml')[0]).toMatchObject({ key: 'line 3, column 3' });
  });

  it('through loadConfig, with the real path', () => {
    const file = writeConfig('limits: [1, 2\n');
    expect(() => loadConfig(file, undefined, NO_ENV)).toThrow(new RegExp(`^${file.replace(/[.\\]/g, '\\$&')}: line \\d+, column \\d+: `));
  });
});

describe('loadConfig', () => {
  it('a missing file is a ConfigError naming it', () => {
    const file = join(dir, 'nope.yaml');
    expect(() => loadConfig(file, undefined, NO_ENV)).toThrow(ConfigError);
    expect(() => loadConfig(file, undefined, NO_ENV)).toThrow(`${file}: file not found`);
    expect(() => loadConfig(dir, undefined, NO_ENV)).toThrow(/is a directory/);
  });

  it('reads a real file', () => {
    const file = writeConfig('relay:\n  port: 8080\nstorage:\n  path: /var/lib/commons/db.sqlite\n');
    const config = loadConfig(file, undefined, NO_ENV);
    expect(config.relay.port).toBe(8080);
    expect(config.storage.path).toBe('/var/lib/commons/db.sqlite');
  });

  it('environment overrides the file', () => {
    const file = writeConfig('relay:\n  host: 10.0.0.1\n  port: 8080\n');
    const config = loadConfig(file, undefined, { COMMONS_HOST: '0.0.0.0', COMMONS_PORT: '9000', COMMONS_DB: '/data/x.sqlite' });
    expect(config.relay).toMatchObject({ host: '0.0.0.0', port: 9000 });
    expect(config.storage.path).toBe('/data/x.sqlite');
    // empty variables are ignored
    expect(loadConfig(file, undefined, { COMMONS_PORT: '' }).relay.port).toBe(8080);
  });

  it('environment values are validated and named', () => {
    const file = writeConfig('');
    expect(() => loadConfig(file, undefined, { COMMONS_PORT: 'abc' })).toThrow(
      'environment: COMMONS_PORT: expected an integer, got the string "abc"',
    );
    expect(() => loadConfig(file, undefined, { COMMONS_PORT: '99999' })).toThrow('environment: COMMONS_PORT: must be from 0 to 65535');
  });

  it('command-line overrides beat the environment', () => {
    const file = writeConfig('relay:\n  port: 8080\n');
    const env = { COMMONS_HOST: '0.0.0.0', COMMONS_PORT: '9000', COMMONS_DB: '/env.sqlite' };
    const config = loadConfig(file, { port: 0, db: '/cli.sqlite', logLevel: 'debug' }, env);
    expect(config.relay).toMatchObject({ host: '0.0.0.0', port: 0 });
    expect(config.storage.path).toBe('/cli.sqlite');
    expect(config.logging.level).toBe('debug');
  });

  it('command-line values are validated too, together with the file', () => {
    const file = writeConfig('limits:\n  max_limit: nope\n');
    try {
      loadConfig(file, { port: 1.5, logLevel: 'loud', host: '' }, NO_ENV);
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => `${p.file}: ${p.key}`)).toEqual([
        `${file}: limits.max_limit`,
        'command line: --host',
        'command line: --port',
        'command line: --log-level',
      ]);
    }
  });
});

describe('the result', () => {
  it('is deep-frozen', () => {
    for (const config of [defaultConfig(), parseConfig('relay:\n  port: 1\n', 'x')]) {
      expect(Object.isFrozen(config)).toBe(true);
      for (const spec of SCHEMA) {
        const section = spec.key.split('.').slice(0, -1).join('.');
        expect(Object.isFrozen(valueAt(config, section)), section).toBe(true);
      }
      expect(() => {
        (config.limits.created_at as { max_past_seconds: number | null }).max_past_seconds = 5;
      }).toThrow(TypeError);
    }
  });

  it('defaultConfig returns an equal but separate object each time', () => {
    expect(defaultConfig()).toEqual(defaultConfig());
    expect(defaultConfig()).not.toBe(defaultConfig());
  });
});

describe('backup:', () => {
  it('reads every as a duration in seconds; null (the default) is off', () => {
    expect(defaultConfig().backup).toEqual({ every: null, keep: 7, dir: './data/backups' });
    expect(parseConfig('backup:\n  every: 6h\n  keep: 3\n  dir: /var/backups/commons\n', 'a.yaml').backup).toEqual({
      every: 21600,
      keep: 3,
      dir: '/var/backups/commons',
    });
    expect(parseConfig('backup:\n  every:\n', 'a.yaml').backup.every).toBeNull();
  });

  it('refuses bad values with file, key and reason', () => {
    expect(problemsOf('backup:\n  every: 30s\n  keep: 0\n  dir: ""\n')).toEqual([
      { file: 'relay.yaml', key: 'backup.every', reason: '"30s" is shorter than the shortest allowed, 1m' },
      { file: 'relay.yaml', key: 'backup.keep', reason: 'must be from 1 to 10000, got 0' },
      { file: 'relay.yaml', key: 'backup.dir', reason: expect.stringMatching(/empty/) },
    ]);
    expect(problemsOf('backup:\n  every: daily\n')).toEqual([
      { file: 'relay.yaml', key: 'backup.every', reason: expect.stringMatching(/^"daily" is not a duration/) },
    ]);
  });
});

describe('info: the operator fields of NIP-11', () => {
  it('self is a pubkey (npub accepted); payments_url an http(s) URL; fees lists with durations', () => {
    const self = 'npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg';
    const config = parseConfig(
      `info:\n  self: ${self}\n  payments_url: https://example.org/pay\n  fees:\n    subscription: [{ amount: 5000, unit: sats, period: 30d }]\n    publication: [{ kinds: [4], amount: 100, unit: msats }]\n`,
      'a.yaml',
    );
    expect(config.info.self).toMatch(/^[0-9a-f]{64}$/);
    expect(config.info.fees).toEqual({
      admission: [],
      subscription: [{ amount: 5000, unit: 'sats', period: 2592000 }],
      publication: [{ kinds: [4], amount: 100, unit: 'msats' }],
    });
    expect(problemsOf('info:\n  payments_url: ftp://example.org\n')[0]!.key).toBe('info.payments_url');
    expect(problemsOf('info:\n  fees: { admission: [{ amount: -1, unit: sats }] }\n')).toEqual([
      { file: 'relay.yaml', key: 'info.fees.admission[0].amount', reason: 'expected a whole number ≥ 0, got the number -1' },
    ]);
    expect(problemsOf('info:\n  fees: { subscription: [{ amount: 1, unit: sats, perod: 30d }] }\n')).toEqual([
      { file: 'relay.yaml', key: 'info.fees.subscription[0].perod', reason: 'unknown field (did you mean "period"?)' },
    ]);
    expect(problemsOf('info:\n  fees: { publication: [{ amount: 1, unit: sats, kinds: [1, 70000] }] }\n')[0]!.key).toBe(
      'info.fees.publication[0].kinds',
    );
  });
});
