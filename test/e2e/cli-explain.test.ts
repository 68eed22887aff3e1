/**
 * `commons explain --config FILE EVENT.json` as a real process: every rule with its verdict, then the
 * exact OK frame the relay sends for the same event (checked against a running relay with the same config).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent } from 'nostr-tools/pure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay.js';
import { runCommand } from '../helpers/run-cli.js';

const TIMEOUT = 30_000;
const member = newKeys();
const outsider = newKeys();
let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'commons-explain-'));
  config = join(dir, 'relay.yaml');
  writeFileSync(
    config,
    [
      'info:',
      '  name: Testville',
      'write:',
      '  pubkeys:',
      `    allow: [${member.pubkey}]`,
      '  blocked_message: https://example.org/join',
      '  kinds:',
      '    deny: [4]',
      '  min_pow: 8',
      '  min_pow_by_kind:',
      '    - { kinds: [1], min_pow: 0 }',
      '',
    ].join('\n'),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function eventFile(name: string, event: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(event));
  return file;
}

/** The last line of explain's output: the frame. */
const frameOf = (stdout: string): unknown => JSON.parse(stdout.trim().split('\n').pop()!);

describe('commons explain', () => {
  it(
    'lists every rule with its verdict and prints the refusal frame; exit 1',
    async () => {
      const event = signed(outsider, { kind: 4 });
      const run = await runCommand(['explain', '--config', config, eventFile('outsider.json', event)]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(1);
      const lines = run.stdout.split('\n');
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}limits \(global\)\s+pass$/));
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^ {2}write\.pubkeys\.allow\s+REFUSED {2}blocked: only members of Testville can post here — https:\/\/example\.org\/join$/,
        ),
      );
      expect(lines).toContainEqual(
        expect.stringMatching(/^ {2}write\.kinds\.deny\s+would refuse \(not reached\): blocked: kind 4 is not accepted here$/),
      );
      expect(lines).toContainEqual(
        expect.stringMatching(/^ {2}write\.min_pow\s+would refuse \(not reached\): pow: difficulty \d+ is less than 8$/),
      );
      expect(frameOf(run.stdout)).toEqual([
        'OK',
        event.id,
        false,
        'blocked: only members of Testville can post here — https://example.org/join',
      ]);
    },
    TIMEOUT,
  );

  it(
    'an accepted event (read from stdin, as an EVENT message): exit 0 and OK true',
    async () => {
      const event = signed(member, { kind: 1 });
      const run = await runCommand(['explain', '--config', config, '-'], JSON.stringify(['EVENT', event]));
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/write\.min_pow\s+pass\n/);
      expect(frameOf(run.stdout)).toEqual(['OK', event.id, true, '']);
    },
    TIMEOUT,
  );

  it(
    "uses the relay's own id and signature checks",
    async () => {
      const forged = { ...signed(member), sig: 'ab'.repeat(64) };
      const run = await runCommand(['explain', '--config', config, eventFile('forged.json', forged)]);
      expect(run.code).toBe(1);
      expect(frameOf(run.stdout)).toEqual(['OK', forged.id, false, 'invalid: signature verification failed']);
      const bad = { ...signed(member), content: 'changed' };
      expect(frameOf((await runCommand(['explain', '--config', config, eventFile('bad-id.json', bad)])).stdout)).toEqual([
        'OK',
        bad.id,
        false,
        'invalid: id is not the sha256 of the serialised event',
      ]);
    },
    TIMEOUT,
  );

  it('prints the same frame a running relay with the same config sends', async () => {
    const loaded = loadConfig(config, undefined, {});
    const relay = await startTestRelay({ info: loaded.info, write: loaded.write });
    try {
      const client = await RawClient.connect(relay.url);
      client.socket.on('error', () => {});
      for (const [name, event] of [
        ['a', signed(outsider)],
        ['b', signed(member, { kind: 4 })],
        ['c', signed(member, { kind: 7 })],
        ['d', signed(member, { kind: 1 })],
      ] as const) {
        const sent = await client.publish(event);
        const explained = frameOf((await runCommand(['explain', '--config', config, eventFile(`${name}.json`, event)])).stdout);
        expect(explained, `event ${name}`).toEqual(sent);
      }
      client.socket.terminate();
    } finally {
      await relay.cleanup();
    }
  }, 90_000);

  it(
    'bad input: exit 2 with the reason; the help says the database is not opened',
    async () => {
      const missing = await runCommand(['explain', '--config', config, join(dir, 'nope.json')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('cannot read a JSON event');
      const shape = await runCommand(['explain', '--config', config, eventFile('shape.json', { id: 'x' })]);
      expect(shape.code).toBe(1);
      expect(shape.stdout).toContain('shape  refused:');
      const help = await runCommand(['explain', '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/opened\s+read-only/);
      expect(help.stdout).toMatch(/never\s+created\s+or\s+written/);
    },
    TIMEOUT,
  );
});

describe('commons explain with the NIP-86 lists of the database', () => {
  const admin = newKeys();
  const banned = newKeys();

  /** One authorised management call (NIP-98 token with the payload). */
  async function call(url: string, method: string, params: unknown[]): Promise<void> {
    const httpUrl = `${url.replace(/^ws/, 'http')}/`;
    const request = { method, params };
    const token = await getToken(httpUrl, 'POST', (t) => finalizeEvent(t, admin.secret), true, request);
    const response = await fetch(httpUrl, {
      method: 'POST',
      body: JSON.stringify(request),
      headers: { 'Content-Type': 'application/nostr+json+rpc', Authorization: token },
    });
    expect(((await response.json()) as { error: unknown }).error).toBeNull();
  }

  it('applies bans and allowed kinds persisted by a running relay (read-only), and says so', async () => {
    const relay = await startTestRelay({ management: { admins: [admin.pubkey] } });
    const plain = join(dir, 'plain.yaml');
    writeFileSync(plain, 'info:\n  name: Plain\n');
    try {
      await call(relay.url, 'banpubkey', [banned.pubkey, 'spam']);
      await call(relay.url, 'allowkind', [1]);
      const client = await RawClient.connect(relay.url);
      client.socket.on('error', () => {});
      for (const [name, event] of [
        ['banned', signed(banned, { kind: 1 })],
        ['kind7', signed(member, { kind: 7 })],
        ['kind1', signed(member, { kind: 1 })],
      ] as const) {
        const sent = await client.publish(event);
        const run = await runCommand(['explain', '--config', plain, '--db', relay.dbPath, eventFile(`db-${name}.json`, event)]);
        expect(run.stdout.split('\n')[0]).toBe(
          `database ${relay.dbPath} (read-only): NIP-86 lists applied: 1 banned pubkeys, 0 allowed pubkeys, 1 allowed kinds, 0 banned events`,
        );
        expect(frameOf(run.stdout), name).toEqual(sent);
        if (name === 'banned') {
          expect(sent[3]).toBe('blocked: this pubkey is banned from this relay');
          expect(run.stdout).toMatch(/\n {2}management\.banned_pubkeys\s+REFUSED {2}blocked: this pubkey is banned from this relay\n/);
        }
      }
      client.socket.terminate();
      // Without the database the same banned event is accepted, and no file is created.
      const missing = join(dir, 'missing', 'relay.sqlite');
      const run = await runCommand([
        'explain',
        '--config',
        plain,
        '--db',
        missing,
        eventFile('db-banned.json', signed(banned, { kind: 1 })),
      ]);
      expect(run.stdout.split('\n')[0]).toBe(`database ${missing}: not found, no NIP-86 lists applied`);
      expect(run.code).toBe(0);
      expect(existsSync(missing)).toBe(false);
      expect(existsSync(join(dir, 'missing'))).toBe(false);
    } finally {
      await relay.cleanup();
    }
  }, 90_000);
});
