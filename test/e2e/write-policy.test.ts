/**
 * Write rules end to end over a real socket: pubkey allow / deny lists (hex and npub), kind allow / deny,
 * per-kind limits, created_at per kind class — and that they run before the signature check, on import
 * too. (Proof of work: nip13.test.ts; NIP-11 fields: nip11-policy.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nip19 from 'nostr-tools/nip19';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/client.js';
import { newKeys, now, signed } from '../helpers/events.js';
import { okFrameProblem } from '../helpers/frames.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { runCommand } from '../helpers/run-cli.js';

const member = newKeys();
const npubMember = newKeys();
const banned = newKeys();
const outsider = newKeys();

const relays: TestRelay[] = [];
const opened: RawClient[] = [];

afterEach(() => {
  const problems = opened.flatMap((client) => client.frames.map(okFrameProblem).filter((p): p is string => p !== undefined));
  for (const client of opened.splice(0)) client.socket.terminate();
  expect(problems).toEqual([]);
});

afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.cleanup()));
});

async function connect(relay: TestRelay): Promise<RawClient> {
  const client = await RawClient.connect(relay.url);
  client.socket.on('error', () => {});
  opened.push(client);
  return client;
}

async function start(overrides: Parameters<typeof startTestRelay>[0]): Promise<TestRelay> {
  const relay = await startTestRelay(overrides);
  relays.push(relay);
  return relay;
}

describe('pubkey allow and deny lists', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await start({
      info: { name: 'Testville' },
      write: {
        pubkeys: { allow: [member.pubkey, banned.pubkey], deny: [banned.pubkey] },
        blocked_message: 'ask at https://example.org/join',
      },
    });
  });

  it('members may post; the event is stored and served', async () => {
    const client = await connect(relay);
    const event = signed(member, { content: 'member note' });
    expect(await client.publish(event)).toEqual(['OK', event.id, true, '']);
    const { events } = await client.req('m', { ids: [event.id] });
    expect(events.map((e) => e.id)).toEqual([event.id]);
  });

  it('others are told who may post and how to join', async () => {
    const client = await connect(relay);
    const event = signed(outsider);
    expect(await client.publish(event)).toEqual([
      'OK',
      event.id,
      false,
      'blocked: only members of Testville can post here — ask at https://example.org/join',
    ]);
    expect((await client.req('o', { ids: [event.id] })).events).toEqual([]);
  });

  it('the deny list wins over the allow list', async () => {
    const client = await connect(relay);
    const event = signed(banned);
    expect(await client.publish(event)).toEqual(['OK', event.id, false, 'blocked: this pubkey may not post here']);
  });

  it('runs before the signature: an outsider with a bad signature hears "blocked:", a member "invalid:"', async () => {
    const client = await connect(relay);
    const forged = { ...signed(outsider), sig: 'ab'.repeat(64) };
    expect((await client.publish(forged))[3]).toMatch(/^blocked: only members/);
    const memberForged = { ...signed(member, { content: 'x' }), sig: 'ab'.repeat(64) };
    expect(await client.publish(memberForged)).toEqual(['OK', memberForged.id, false, 'invalid: signature verification failed']);
  });
});

describe('npubs in the config file', () => {
  it('are matched as hex pubkeys', async () => {
    // The loader converts npubs; startTestRelay takes config values as they are after loading.
    const { parseConfig } = await import('../../src/config/load.js');
    const config = parseConfig(`write:\n  pubkeys:\n    allow: [${nip19.npubEncode(npubMember.pubkey)}]\n`, 'x');
    const relay = await start({ write: { pubkeys: { allow: config.write.pubkeys.allow } } });
    const client = await connect(relay);
    const ok = signed(npubMember);
    expect(await client.publish(ok)).toEqual(['OK', ok.id, true, '']);
    const refused = signed(member);
    expect((await client.publish(refused))[2]).toBe(false);
  });
});

describe('kinds, per-kind limits, created_at per class', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await start({
      write: {
        kinds: { allow: [0, 1, 7, [20000, 29999], [30000, 39999]], deny: [7] },
        limits_by_kind: [
          { kinds: [0], max_content_length: 20 },
          { kinds: [1], max_event_tags: 2 },
        ],
        created_at_by_class: {
          regular: { max_future_seconds: null, max_past_seconds: null },
          replaceable: { max_future_seconds: null, max_past_seconds: null },
          ephemeral: { max_future_seconds: 30, max_past_seconds: 60 },
          addressable: { max_future_seconds: null, max_past_seconds: null },
        },
      },
    });
  });

  it('kind allow list (single kinds and ranges) and deny list', async () => {
    const client = await connect(relay);
    const ok = signed(member, { kind: 30023, tags: [['d', 'a']] });
    expect(await client.publish(ok)).toEqual(['OK', ok.id, true, '']);
    const notAllowed = signed(member, { kind: 4 });
    expect(await client.publish(notAllowed)).toEqual(['OK', notAllowed.id, false, 'blocked: kind 4 is not accepted here']);
    const denied = signed(member, { kind: 7 });
    expect(await client.publish(denied)).toEqual(['OK', denied.id, false, 'blocked: kind 7 is not accepted here']);
  });

  it('per-kind content length and tag count', async () => {
    const client = await connect(relay);
    const longProfile = signed(member, { kind: 0, content: 'x'.repeat(21) });
    expect(await client.publish(longProfile)).toEqual([
      'OK',
      longProfile.id,
      false,
      'invalid: kind 0 content may be at most 20 characters; this one has 21',
    ]);
    const shortProfile = signed(member, { kind: 0, content: 'x'.repeat(20) });
    expect((await client.publish(shortProfile))[2]).toBe(true);
    const tagged = signed(member, {
      kind: 1,
      tags: [
        ['t', 'a'],
        ['t', 'b'],
        ['t', 'c'],
      ],
    });
    expect(await client.publish(tagged)).toEqual([
      'OK',
      tagged.id,
      false,
      'invalid: kind 1 events may carry at most 2 tags; this one has 3',
    ]);
    // kind 1's rule limits tags only: long content passes (up to the global limit).
    const long = signed(member, { kind: 1, content: 'y'.repeat(1000) });
    expect((await client.publish(long))[2]).toBe(true);
  });

  it('a tighter window for ephemeral events only', async () => {
    const client = await connect(relay);
    const listener = await connect(relay);
    await listener.req('live', { kinds: [20000] });
    const late = signed(member, { kind: 20000, created_at: now() - 120 });
    expect(await client.publish(late)).toEqual([
      'OK',
      late.id,
      false,
      'invalid: created_at is more than 60 seconds in the past (limit for ephemeral events)',
    ]);
    const fresh = signed(member, { kind: 20000, created_at: now() - 5 });
    expect(await client.publish(fresh)).toEqual(['OK', fresh.id, true, '']);
    await listener.next((f) => f[0] === 'EVENT' && (f[2] as { id: string }).id === fresh.id);
    expect(listener.frames.some((f) => f[0] === 'EVENT' && (f[2] as { id: string }).id === late.id)).toBe(false);
    // Regular events keep the global window (no past limit by default).
    const old = signed(member, { kind: 1, created_at: now() - 86400 * 365 });
    expect((await client.publish(old))[2]).toBe(true);
  });
});

describe('import applies the same rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-write-import-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refused events are counted with their reason', async () => {
    const config = join(dir, 'relay.yaml');
    writeFileSync(config, `logging:\n  level: silent\nwrite:\n  kinds:\n    deny: [4]\n  pubkeys:\n    deny: [${banned.pubkey}]\n`);
    const lines = [signed(member), signed(member, { kind: 4 }), signed(banned)].map((e) => JSON.stringify(e)).join('\n');
    const run = await runCommand(['import', '--config', config, '--db', join(dir, 'db.sqlite')], `${lines}\n`);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('accepted: 1\n');
    expect(run.stdout).toContain('rejected: 2\n');
    expect(run.stdout).toContain('1  blocked: kind 4 is not accepted here');
    expect(run.stdout).toContain('1  blocked: this pubkey may not post here');
  }, 30_000);
});
