/** `commons prune`: --dry-run prints per-rule counts and deletes nothing; prune deletes exactly those. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/event/types.js';
import { serialize } from '../../src/event/validate.js';
import { EventStore } from '../../src/store/index.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { now } from '../helpers/events.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
let dir: string;
let db: string;
let config: string;

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('COMMONS_')) env[key] = value;
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
const stored = (): number => {
  const store = EventStore.open(db, { synchronous: 'normal' });
  try {
    return store.stats().events;
  } finally {
    store.close();
  }
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-prune-'));
  db = join(dir, 'relay.sqlite');
  config = join(dir, 'relay.yaml');
  writeFileSync(config, 'retention:\n  - { kinds: [7], max_age: 1d }\n  - { kinds: ["*"], max_per_pubkey: 3 }\n');
  const t = now();
  const pubkeys = [hex(32), hex(32)];
  const events: NostrEvent[] = [];
  // 10 reactions 2 days old (rule 0 deletes them), 2 × 5 notes (rule 1 keeps 3 per author), 1 expired note.
  for (let i = 0; i < 10; i++)
    events.push({ id: hex(32), pubkey: pubkeys[0]!, kind: 7, created_at: t - 2 * 86400 - i, tags: [], content: '+', sig: hex(64) });
  for (const pubkey of pubkeys)
    for (let i = 0; i < 5; i++) events.push({ id: hex(32), pubkey, kind: 1, created_at: t - i, tags: [], content: 'n', sig: hex(64) });
  events.push({
    id: hex(32),
    pubkey: hex(32),
    kind: 1,
    created_at: t - 100,
    tags: [['expiration', String(t - 10)]],
    content: 'gone',
    sig: hex(64),
  });
  const store = EventStore.open(db, { synchronous: 'normal' });
  store.writeBatch(events.map((event) => ({ event, json: serialize(event) })));
  store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prune', () => {
  it('--dry-run prints per-rule counts and deletes nothing; prune deletes them', () => {
    const dry = run('prune', '--dry-run', '--config', config, '--db', db);
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('expired (NIP-40 expiration, ephemeral keep): would delete 1');
    expect(dry.stdout).toContain('retention[0] kinds [7] max_age 1d: would delete 10');
    expect(dry.stdout).toContain('retention[1] kinds ["*"] max_per_pubkey 3: would delete 4');
    expect(dry.stdout).toMatch(/total: would delete 15 events/);
    expect(stored()).toBe(21);

    const real = run('prune', '--config', config, '--db', db);
    expect(real.status).toBe(0);
    expect(real.stdout).toContain('retention[0] kinds [7] max_age 1d: deleted 10');
    expect(real.stdout).toContain('retention[1] kinds ["*"] max_per_pubkey 3: deleted 4');
    expect(real.stdout).toMatch(/total: deleted 15 events/);
    expect(stored()).toBe(6);
    expect(run('prune', '--dry-run', '--config', config, '--db', db).stdout).toMatch(/total: would delete 0 events/);
  });

  it('a bad rule is refused with its path', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'retention:\n  - { kinds: [1], max_agee: 1d }\n');
    const result = run('prune', '--config', bad, '--db', db);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('retention[0].max_agee: unknown field (did you mean "max_age"?)');
  });
});
