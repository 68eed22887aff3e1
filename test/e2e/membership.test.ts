/**
 * Community membership end to end: an inline member list and a member file re-read
 * when it changes; open kinds (relay lists) for everyone; DMs and gift wraps from outsiders only to
 * members; gated on the event's pubkey, not on AUTH.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nip19 from 'nostr-tools/nip19';
import { makeAuthEvent } from 'nostr-tools/nip42';
import { finalizeEvent } from 'nostr-tools/pure';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/client.js';
import { newKeys, signed } from '../helpers/events.js';
import { okFrameProblem } from '../helpers/frames.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { connectTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'commons-members-e2e-'));
const memberFile = join(dir, 'members.txt');
const [inlineMember, fileMember, outsider, later] = [newKeys(), newKeys(), newKeys(), newKeys()];
let relay: TestRelay;
/** The relay's log lines, parsed. */
const logged: { msg: string }[] = [];

beforeAll(async () => {
  writeFileSync(memberFile, `# members\n${nip19.npubEncode(fileMember.pubkey)}\nnot a pubkey\n`);
  relay = await startTestRelay(
    {
      info: { name: 'Town' },
      write: { blocked_message: 'https://town.example/join' },
      members: { enabled: true, pubkeys: [inlineMember.pubkey], file: memberFile },
    },
    { logger: pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }) }) },
  );
});
afterAll(async () => {
  await relay?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const opened: RawClient[] = [];
afterEach(() => {
  const problems = opened.flatMap((client) => client.frames.map(okFrameProblem).filter((p): p is string => p !== undefined));
  for (const client of opened.splice(0)) client.socket.terminate();
  expect(problems).toEqual([]);
});

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(relay.url);
  opened.push(client);
  return client;
}

const BLOCKED = 'blocked: only members of Town can post here — https://town.example/join';

describe('members', () => {
  it('inline and file members publish any kind without AUTH; an outsider is blocked with the join hint', async () => {
    const client = await connect();
    for (const keys of [inlineMember, fileMember]) {
      for (const kind of [1, 30023, 7]) {
        const event = signed(keys, { kind, tags: kind === 30023 ? [['d', 'x']] : [] });
        expect(await client.publish(event)).toEqual(['OK', event.id, true, '']);
      }
    }
    const refused = signed(outsider, { kind: 1 });
    expect(await client.publish(refused)).toEqual(['OK', refused.id, false, BLOCKED]);
  });

  it('nostr-tools publish from an outsider rejects with the blocked: reason', async () => {
    const r = await connectTools(relay.url);
    try {
      await expect(r.publish(signed(outsider, { kind: 1 }))).rejects.toThrow(BLOCKED);
    } finally {
      r.close();
    }
  });

  it('anyone may publish relay lists (10002, 10050)', async () => {
    const client = await connect();
    for (const kind of [10002, 10050]) {
      const event = signed(outsider, { kind, tags: [['r', 'wss://relay.example.org']] });
      expect((await client.publish(event))[2]).toBe(true);
    }
  });

  it('an outsider may send a DM or gift wrap to a member, not to another outsider', async () => {
    const client = await connect();
    for (const kind of [4, 1059]) {
      const toMember = signed(outsider, { kind, tags: [['p', fileMember.pubkey]] });
      expect((await client.publish(toMember))[2]).toBe(true);
      const toOutsider = signed(outsider, { kind, tags: [['p', later.pubkey]] });
      expect(await client.publish(toOutsider)).toEqual(['OK', toOutsider.id, false, BLOCKED]);
    }
  });

  it('gated on the event pubkey: AUTH as a member does not let an outsider’s event in', async () => {
    const client = await connect();
    const challenge = (await client.next((f) => f[0] === 'AUTH'))[1] as string;
    const authEvent = finalizeEvent(makeAuthEvent(relay.url, challenge), inlineMember.secret);
    client.send(['AUTH', authEvent]);
    expect((await client.next((f) => f[0] === 'OK' && f[1] === authEvent.id))[2]).toBe(true);
    const event = signed(outsider, { kind: 1 });
    expect((await client.publish(event))[3]).toBe(BLOCKED);
  });

  it('the member file is re-read when it changes: added members post at once, removed ones are blocked', async () => {
    const client = await connect();
    const before = signed(later, { kind: 1, content: 'before' });
    expect((await client.publish(before))[2]).toBe(false);
    const from = logged.length;
    writeFileSync(memberFile, `${later.pubkey}  # joined today\n`);
    // The relay checks the file every 2 s (a stat) and logs each load: once per connection thread.
    await waitFor(
      () => logged.slice(from).filter((entry) => entry.msg === 'members.file loaded').length >= relay.threads,
      'the member file re-read by every thread',
    );
    const after = signed(later, { kind: 1, content: 'after' });
    expect(await client.publish(after)).toEqual(['OK', after.id, true, '']);
    // fileMember was removed from the file; the inline member stays.
    expect((await client.publish(signed(fileMember, { kind: 1, content: 'gone' })))[3]).toBe(BLOCKED);
    expect((await client.publish(signed(inlineMember, { kind: 1, content: 'still here' })))[2]).toBe(true);
  });

  it('NIP-11 says restricted_writes', async () => {
    const response = await fetch(relay.url.replace('ws', 'http'), { headers: { Accept: 'application/nostr+json' } });
    const info = (await response.json()) as { limitation: Record<string, unknown> };
    expect(info.limitation.restricted_writes).toBe(true);
    expect(info.limitation.auth_required).toBe(false);
  });
});
