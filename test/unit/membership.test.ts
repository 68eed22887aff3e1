/** Community membership (src/policy/membership.ts): the pure policy, the member file, the config keys. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nip19 from 'nostr-tools/nip19';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { NostrEvent } from '../../src/event/types.js';
import { relayInformation } from '../../src/nips/nip11.js';
import { MemberSet, membership } from '../../src/policy/membership.js';
import { runPolicies } from '../../src/policy/pipeline.js';
import { writePolicies } from '../../src/policy/write.js';

const NOW = 1_700_000_000;
const ctx = { now: NOW };
const [A, B, C] = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)];
const ev = (fields: Partial<NostrEvent> = {}): NostrEvent => ({
  id: 'f'.repeat(64),
  pubkey: A,
  created_at: NOW,
  kind: 1,
  tags: [],
  content: 'hi',
  sig: '0'.repeat(128),
  ...fields,
});

const dir = mkdtempSync(join(tmpdir(), 'commons-members-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('membership policy', () => {
  const config = parseConfig('members:\n  enabled: true\n', 'x').members;
  const check = membership(config, new Set([A]), 'Town', 'https://town.example/join');

  it('members write any kind; outsiders are blocked with the name and how to join', () => {
    expect(check.check(ev({ pubkey: A, kind: 30023 }), ctx)).toBeUndefined();
    expect(check.check(ev({ pubkey: B }), ctx)).toEqual({
      prefix: 'blocked',
      text: 'only members of Town can post here — https://town.example/join',
    });
  });

  it('open kinds (relay lists) are open to everyone', () => {
    expect(check.check(ev({ pubkey: B, kind: 10002 }), ctx)).toBeUndefined();
    expect(check.check(ev({ pubkey: B, kind: 10050 }), ctx)).toBeUndefined();
  });

  it('DM kinds from outsiders pass only when they p-tag a member', () => {
    for (const kind of [4, 1059, 14]) {
      expect(check.check(ev({ pubkey: B, kind, tags: [['p', A]] }), ctx)).toBeUndefined();
      expect(check.check(ev({ pubkey: B, kind, tags: [['p', C]] }), ctx)?.prefix).toBe('blocked');
      expect(check.check(ev({ pubkey: B, kind }), ctx)?.prefix).toBe('blocked');
    }
    // A p tag on a non-DM kind does not open it.
    expect(check.check(ev({ pubkey: B, kind: 1, tags: [['p', A]] }), ctx)?.prefix).toBe('blocked');
  });

  it('joins the write pipeline after the allow list; the refusal omits " — " without a blocked_message', () => {
    const full = parseConfig(`members:\n  enabled: true\n  pubkeys: [${A}]\ninfo:\n  name: Club\n`, 'x');
    const pipeline = writePolicies(full);
    expect(pipeline.map((p) => p.name)).toEqual(['members']);
    expect(runPolicies(pipeline, ev({ pubkey: B }), ctx)?.text).toBe('only members of Club can post here');
    expect(runPolicies(pipeline, ev({ pubkey: A }), ctx)).toBeUndefined();
  });
});

describe('member file', () => {
  it('one pubkey per line, hex or npub, # comments; bad lines reported with their number', () => {
    const file = join(dir, 'members-format.txt');
    writeFileSync(file, `# members\n${A}\n\n  ${nip19.npubEncode(B)}  # bob\nnot-a-key\n${'A'.repeat(64)}\n`);
    const skipped: unknown[] = [];
    const set = new MemberSet([], file, { warn: (d) => skipped.push((d as { line?: number }).line), info: () => {} });
    expect([set.has(A), set.has(B), set.size]).toEqual([true, true, 2]);
    expect(skipped).toEqual([5, 6]);
  });

  it('MemberSet reads the file plus the inline list, and re-reads it when it changes', () => {
    const file = join(dir, 'members.txt');
    writeFileSync(file, `${A}\n`);
    const warnings: object[] = [];
    const set = new MemberSet([C], file, { warn: (d) => warnings.push(d), info: () => {} });
    expect([set.has(A), set.has(B), set.has(C)]).toEqual([true, false, true]);
    writeFileSync(file, `${B}\nbad line\n`);
    set.refresh();
    expect([set.has(A), set.has(B), set.has(C)]).toEqual([false, true, true]);
    expect(warnings).toHaveLength(1);
    // A file gone missing keeps the last list.
    rmSync(file);
    set.refresh();
    expect(set.has(B)).toBe(true);
  });

  it('a members.file that does not exist is a config error naming the key', () => {
    const missing = join(dir, 'nope.txt');
    try {
      parseConfig(`members:\n  file: ${missing}\n`, 'relay.yaml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([{ file: 'relay.yaml', key: 'members.file', reason: `file not found: ${missing}` }]);
    }
  });

  it('members.pubkeys takes npubs and refuses bad keys with their index', () => {
    expect(parseConfig(`members:\n  pubkeys: [${nip19.npubEncode(A)}]\n`, 'x').members.pubkeys).toEqual([A]);
    expect(() => parseConfig('members:\n  pubkeys: [abc]\n', 'x')).toThrow(/members\.pubkeys\[0\]/);
  });
});

describe('NIP-11', () => {
  it('restricted_writes when membership is on; auth_required in private mode', () => {
    const info = (yaml: string) => relayInformation(parseConfig(yaml, 'x')).limitation as Record<string, unknown>;
    expect(info('')).toMatchObject({ restricted_writes: false, auth_required: false });
    expect(info('members:\n  enabled: true\n')).toMatchObject({ restricted_writes: true, auth_required: false });
    expect(info('members:\n  enabled: true\nread:\n  private: true\n')).toMatchObject({ restricted_writes: true, auth_required: true });
  });
});
