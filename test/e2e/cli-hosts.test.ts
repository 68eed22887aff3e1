/**
 * The command line with a hosts: section, as real processes: check-config lists the hosts and refuses
 * a shared database naming the key; prune goes through every host's database (or one with --host);
 * import and export --host use that host's rules and file; explain --host judges by that host's policy
 * (config/geohash-multi.yaml).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { EventStore } from '../../src/store/store.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { runCommand } from '../helpers/run-cli.js';

const TIMEOUT = 30_000;
const EXAMPLE = 'config/geohash-multi.yaml';
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
let dir: string;
let config: string;
const db = (name: string): string => join(dir, `${name}.sqlite`);

/** `count` kind-1 notes two days old, by random authors, written straight into a database file. */
function seed(path: string, count: number): void {
  const events: NostrEvent[] = [];
  for (let i = 0; i < count; i++)
    events.push({ id: hex(32), pubkey: hex(32), kind: 1, created_at: now() - 2 * 86400 - i, tags: [], content: 'old', sig: hex(64) });
  const store = EventStore.open(path, { synchronous: 'normal' });
  store.writeBatch(events.map((event) => ({ event, json: serialize(event) })));
  store.close();
}
const stored = (path: string): number => {
  const store = EventStore.open(path, { synchronous: 'normal' });
  try {
    return store.stats().events;
  } finally {
    store.close();
  }
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-cli-hosts-'));
  config = join(dir, 'relay.yaml');
  writeFileSync(
    config,
    [
      `storage: { path: ${db('default')} }`,
      'retention: [{ kinds: [1], max_age: 1d }]',
      'hosts:',
      `  - names: [a.example]`,
      `    storage: { path: ${db('a')} }`,
      '    scopes: { geohash: { prefixes: [u4pru] } }',
      `  - names: [b.example]`,
      `    storage: { path: ${db('b')} }`,
      '    retention: []',
      '',
    ].join('\n'),
  );
  seed(db('default'), 2);
  seed(db('a'), 3);
  seed(db('b'), 4);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prune with hosts', () => {
  it(
    "--host NAME prunes that host's database only, by its rules",
    async () => {
      const run = await runCommand(['prune', '--config', config, '--host', 'A.Example']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('retention[0] kinds [1] max_age 1d: deleted 3');
      expect([stored(db('default')), stored(db('a')), stored(db('b'))]).toEqual([2, 0, 4]);
    },
    TIMEOUT,
  );

  it(
    'an unknown --host is refused (exit 2), naming the known hosts',
    async () => {
      const run = await runCommand(['prune', '--config', config, '--host', 'c.example']);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe('--host c.example: no hosts: block lists this name (known: a.example, b.example)\n');
    },
    TIMEOUT,
  );

  it(
    'without --host: every database, each under a heading, each by its own rules',
    async () => {
      const run = await runCommand(['prune', '--config', config, '--dry-run']);
      expect(run.code).toBe(0);
      const sections = run.stdout.split(/^# /m).slice(1);
      expect(sections.map((s) => s.split('\n')[0])).toEqual([
        `default relay (${db('default')})`,
        `hosts: a.example (${db('a')})`,
        `hosts: b.example (${db('b')})`,
      ]);
      expect(sections[0]).toContain('total: would delete 2 events');
      expect(sections[1]).toContain('total: would delete 0 events');
      expect(sections[2]).toContain('no retention rules');
      expect([stored(db('default')), stored(db('a')), stored(db('b'))]).toEqual([2, 0, 4]);
    },
    TIMEOUT,
  );
});

describe('check-config with hosts', () => {
  it(
    'lists which Host goes to which database',
    async () => {
      const run = await runCommand(['check-config', EXAMPLE]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('# hosts[1]: Host u4pru.relay.example, skagen.relay.example → ./data/u4pru.sqlite\n');
      expect(run.stdout).toContain('# any other Host → the top level → ./data/geohash-multi.sqlite\n');
    },
    TIMEOUT,
  );

  it(
    'refuses two hosts sharing a database file, naming the key',
    async () => {
      const shared = join(dir, 'shared.yaml');
      writeFileSync(
        shared,
        `hosts:\n  - names: [a.example]\n    storage: { path: ${db('x')} }\n  - names: [b.example]\n    storage: { path: ${db('x')} }\n`,
      );
      const run = await runCommand(['check-config', shared]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(
          `^${shared.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: hosts\\[1\\]\\.storage\\.path: ".*x\\.sqlite" is also hosts\\[0\\]\\.storage\\.path`,
        ),
      );
    },
    TIMEOUT,
  );
});

describe('explain --host', () => {
  const event = signed(newKeys(), { kind: 20000, content: 'hej', tags: [['g', 'u3butz']] });
  const file = (): string => {
    const path = join(dir, 'geo.json');
    writeFileSync(path, JSON.stringify(event));
    return path;
  };
  const frameOf = (stdout: string): unknown => JSON.parse(stdout.trim().split('\n').pop()!);

  it(
    "judges by the named host's scope: accepted in Vesterbro, refused in Skagen (by either of its names)",
    async () => {
      const vesterbro = await runCommand(['explain', '--config', EXAMPLE, '--host', 'u3but.relay.example', file()]);
      expect(vesterbro.code).toBe(0);
      expect(frameOf(vesterbro.stdout)).toEqual(['OK', event.id, true, '']);
      for (const name of ['u4pru.relay.example', 'skagen.relay.example']) {
        const skagen = await runCommand(['explain', '--config', EXAMPLE, '--host', name, file()]);
        expect(skagen.code).toBe(1);
        expect(frameOf(skagen.stdout)).toEqual(['OK', event.id, false, expect.stringMatching(/^blocked: this relay serves u4pru; /)]);
      }
      // Without --host: the top level, which has no scope.
      expect((await runCommand(['explain', '--config', EXAMPLE, file()])).code).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'an unknown --host is refused rather than judged by another policy',
    async () => {
      const run = await runCommand(['explain', '--config', EXAMPLE, '--host', 'nowhere.example', file()]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('known: u3but.relay.example, u4pru.relay.example, skagen.relay.example');
    },
    TIMEOUT,
  );
});

describe('import and export --host', () => {
  it(
    "import --host stores into that host's file under its rules; export --host reads it back",
    async () => {
      const keys = newKeys();
      const inside = signed(keys, { kind: 1, content: 'Skagen', tags: [['g', 'u4prux']] });
      const outside = signed(keys, { kind: 1, content: 'Vesterbro', tags: [['g', 'u3butz']] });
      const input = `${JSON.stringify(inside)}\n${JSON.stringify(outside)}\n`;
      const run = await runCommand(['import', '--config', config, '--host', 'a.example'], input);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/accepted: 1\n/);
      expect(run.stdout).toContain('blocked: this relay serves u4pru');
      const exported = await runCommand(['export', '--config', config, '--host', 'a.example']);
      expect(
        exported.stdout
          .trim()
          .split('\n')
          .map((line) => (JSON.parse(line) as { id: string }).id),
      ).toEqual([inside.id]);
      expect((await runCommand(['export', '--config', config])).stdout).not.toContain(inside.id);
    },
    TIMEOUT,
  );
});
