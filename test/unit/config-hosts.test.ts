/** `hosts:` blocks: merged over the top level, validated by the same schema, checked across hosts. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, type ConfigProblem } from '../../src/config/load.js';
import { hostKey } from '../../src/config/hosts.js';
import { defaultLimit } from '../../src/filter/compile.js';

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, 'relay.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const TOP = `
info: { name: top, description: shared }
storage: { path: /tmp/top.sqlite }
limits: { max_limit: 100, default_limit: 50 }
write: { kinds: { deny: [4] }, min_pow: 3 }
retention: [{ kinds: ["*"], max_age: 1y }]
`;

describe('hosts: merging', () => {
  const config = parseConfig(
    `${TOP}
hosts:
  - names: [A.Example]
    info: { name: A }
    storage: { path: /tmp/a.sqlite }
    limits: { max_limit: 10, default_limit: 5 }
    write: { kinds: { allow: [1] } }
    retention: [{ kinds: [1], max_per_pubkey: 2 }]
  - names: b.example
    storage: { path: /tmp/b.sqlite }
`,
    'relay.yaml',
  );
  const [a, b] = config.hosts;

  it("keeps the top level as the default relay, with no hosts in a host's own config", () => {
    expect(config.info.name).toBe('top');
    expect(config.hosts.map((h) => h.names)).toEqual([['a.example'], ['b.example']]);
    expect(a!.config.hosts).toEqual([]);
  });

  it("mappings merge key by key; a key's value (a list, the retention rules) replaces the inherited one", () => {
    expect(a!.config.info).toMatchObject({ name: 'A', description: 'shared' });
    expect(a!.config.limits).toMatchObject({ max_limit: 10, default_limit: 5, max_filters: config.limits.max_filters });
    expect(a!.config.write.kinds).toEqual({ allow: [1], deny: [4] });
    expect(a!.config.write.min_pow).toBe(3);
    expect(a!.config.retention).toEqual([{ kinds: [1], max_per_pubkey: 2 }]);
    expect(b!.config).toEqual({ ...config, storage: { ...config.storage, path: '/tmp/b.sqlite' }, hosts: [] });
  });

  it("default_limit left unset follows each host's own max_limit", () => {
    const unset = parseConfig(
      `
storage: { path: /tmp/top.sqlite }
limits: { max_limit: 300 }
hosts:
  - names: [c.example]
    storage: { path: /tmp/c.sqlite }
    limits: { max_limit: 40 }
`,
      'relay.yaml',
    );
    expect(defaultLimit(unset.limits)).toBe(300);
    expect(defaultLimit(unset.hosts[0]!.config.limits)).toBe(40);
  });

  it('is frozen like the top level', () => {
    expect(Object.isFrozen(a!.config.info)).toBe(true);
    expect(Object.isFrozen(config.hosts)).toBe(true);
  });

  it('compares Host headers by hostKey: case, port and a trailing dot ignored', () => {
    expect(hostKey('A.EXAMPLE:443')).toBe('a.example');
    expect(hostKey('b.example.')).toBe('b.example');
    expect(hostKey('[::1]:7777')).toBe('[::1]');
    expect(a!.names).toContain(hostKey('A.EXAMPLE:443'));
    expect(b!.names).toContain(hostKey('b.example.'));
  });
});

describe('hosts: problems name the host key', () => {
  it('values are checked by the same schema and rules, with hosts[i]. in front of the key', () => {
    expect(
      problemsOf(`${TOP}
hosts:
  - names: [a.example]
    storage: { path: /tmp/a.sqlite }
    scopes: { geohash: { prefixes: [u4prü] } }
    limits: { default_limit: 500 }
    limts: {}
    write: { min_pow: many }
`),
    ).toEqual([
      // Each key as the block is read, then the rules across keys (here: default_limit ≤ the inherited max_limit).
      { file: 'relay.yaml', key: 'hosts[0].scopes.geohash.prefixes[0]', reason: expect.stringContaining('geohash alphabet') },
      { file: 'relay.yaml', key: 'hosts[0].limts', reason: 'unknown key (did you mean "limits"?)' },
      { file: 'relay.yaml', key: 'hosts[0].write.min_pow', reason: expect.stringMatching(/^expected an integer/) },
      { file: 'relay.yaml', key: 'hosts[0].limits.default_limit', reason: 'must not exceed limits.max_limit (100), got 500' },
    ]);
  });

  it('process-wide keys may not be set per host', () => {
    const problems = problemsOf(`${TOP}
hosts:
  - names: [a.example]
    storage: { path: /tmp/a.sqlite }
    relay: { host: 0.0.0.0, port: 80, url: wss://a.example }
    verify: { workers: 2 }
    server: { threads: 2 }
    negentropy: { max_total_records: 10, max_sessions_per_ip: 2 }
    logging: { level: debug }
`);
    expect(problems.map((p) => p.key)).toEqual([
      'hosts[0].relay.host',
      'hosts[0].relay.port',
      'hosts[0].verify.workers',
      'hosts[0].server.threads',
      'hosts[0].negentropy.max_total_records',
      'hosts[0].logging.level',
    ]);
    for (const problem of problems) expect(problem.reason).toMatch(/^is process-wide .*set it at the top level$/);
  });

  it("each host needs its own storage.path: inheriting the top level's or sharing another host's is refused", () => {
    expect(
      problemsOf(`${TOP}
hosts:
  - names: [a.example]
  - names: [b.example]
    storage: { path: /tmp/b.sqlite }
  - names: [c.example]
    storage: { path: /tmp/../tmp/b.sqlite }
`),
    ).toEqual([
      {
        file: 'relay.yaml',
        key: 'hosts[0].storage.path',
        reason: expect.stringMatching(/^"\/tmp\/top.sqlite" is also the top-level storage.path: every host keeps its own database file/),
      },
      {
        file: 'relay.yaml',
        key: 'hosts[2].storage.path',
        reason: expect.stringMatching(/^"\/tmp\/..\/tmp\/b.sqlite" is also hosts\[1\].storage.path/),
      },
    ]);
    // The default path counts too, when neither sets one.
    expect(problemsOf('hosts:\n  - names: [a.example]\n').map((p) => p.key)).toEqual(['hosts[0].storage.path']);
  });

  it('sites backing up into one directory need databases of different names (rotation tells backups apart by name)', () => {
    const text = `
storage: { path: /tmp/top/relay.sqlite }
backup: { every: 1d, dir: /tmp/backups }
hosts:
  - names: [a.example]
    storage: { path: /tmp/a/relay.sqlite }
  - names: [b.example]
    storage: { path: /tmp/b/relay.sqlite }
    backup: { dir: /tmp/backups-b }
  - names: [c.example]
    storage: { path: /tmp/c.sqlite }
`;
    expect(problemsOf(text)).toEqual([
      {
        file: 'relay.yaml',
        key: 'hosts[0].backup.dir',
        reason:
          'the top level backs up into "/tmp/backups" under the same names (relay-<time>.sqlite): set another backup.dir in this block, or give the databases different file names',
      },
    ]);
    // Sites that take no periodic backups cannot clash.
    expect(() => parseConfig(text.replace('every: 1d, ', ''), 'relay.yaml')).not.toThrow();
  });

  it('names: required, host names without port, each served once (case-insensitively)', () => {
    expect(
      problemsOf(`${TOP}
hosts:
  - storage: { path: /tmp/a.sqlite }
  - names: []
    storage: { path: /tmp/b.sqlite }
  - names: [ok.example, "c.example:443", "https://d.example/", 7]
    storage: { path: /tmp/c.sqlite }
  - names: [e.example]
    storage: { path: /tmp/e.sqlite }
  - names: [E.example]
    storage: { path: /tmp/f.sqlite }
    hosts: []
`),
    ).toEqual([
      { file: 'relay.yaml', key: 'hosts[0].names', reason: expect.stringMatching(/^missing: list the Host header names/) },
      { file: 'relay.yaml', key: 'hosts[1].names', reason: 'expected a non-empty list of host names, got a list' },
      { file: 'relay.yaml', key: 'hosts[2].names[1]', reason: expect.stringMatching(/^give the name without a port/) },
      { file: 'relay.yaml', key: 'hosts[4].hosts', reason: 'hosts cannot be nested; list every host at the top level' },
      { file: 'relay.yaml', key: 'hosts[4].names[0]', reason: '"e.example" is already served by hosts[3]' },
    ]);
    expect(problemsOf('hosts:\n  - names: ["https://d.example/"]\n    storage: { path: /tmp/d.sqlite }\n')[0]!.reason).toMatch(
      /no scheme, path or spaces/,
    );
    expect(problemsOf('hosts:\n  - names: [7]\n    storage: { path: /tmp/d.sqlite }\n')[0]!.reason).toBe(
      'expected a host name, got the number 7',
    );
  });

  it('hosts: must be a list of mappings', () => {
    expect(problemsOf('hosts: { names: [a] }\n')).toEqual([
      { file: 'relay.yaml', key: 'hosts', reason: expect.stringMatching(/^expected a list of host blocks/) },
    ]);
    expect(problemsOf('hosts: [a.example]\n')).toEqual([
      { file: 'relay.yaml', key: 'hosts[0]', reason: expect.stringMatching(/^expected a mapping with names:/) },
    ]);
  });
});

describe('hosts: with environment and command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-hosts-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--port and --db apply to the top level; hosts inherit the port and keep their own database', () => {
    const file = join(dir, 'relay.yaml');
    writeFileSync(file, 'hosts:\n  - names: [a.example]\n    storage: { path: /tmp/a.sqlite }\n');
    const config = loadConfig(file, { port: 0, db: '/tmp/override.sqlite' }, { COMMONS_HOST: '0.0.0.0' });
    expect(config.storage.path).toBe('/tmp/override.sqlite');
    expect(config.hosts[0]!.config.relay).toMatchObject({ host: '0.0.0.0', port: 0 });
    expect(config.hosts[0]!.config.storage.path).toBe('/tmp/a.sqlite');
    // --db naming a host's file is refused like the file saying so.
    expect(() => loadConfig(file, { db: '/tmp/a.sqlite' }, {})).toThrow(
      /hosts\[0\].storage.path: "\/tmp\/a.sqlite" is also the top-level storage.path/,
    );
  });
});
