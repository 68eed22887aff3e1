import { describe, expect, it } from 'vitest';
import * as nip19 from 'nostr-tools/nip19';
import { defaultConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { NobleVerifier } from '../../src/event/verify.js';
import { normaliseIp } from '../../src/net/ip.js';
import { handleRequest, type ManagementOps } from '../../src/nips/nip86.js';
import { runPolicies } from '../../src/policy/pipeline.js';
import { writePolicies } from '../../src/policy/write.js';
import { Management } from '../../src/relay/management.js';
import { EventStore } from '../../src/store/store.js';
import { IMPLEMENTED_METHODS } from '../helpers/nip86.js';

/** Records every call; list methods answer canned values. */
function recorder(): { ops: ManagementOps; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const record =
    (name: string) =>
    (...args: unknown[]) =>
      void calls.push([name, ...args]);
  const ops: ManagementOps = {
    banPubkey: record('banPubkey'),
    allowPubkey: record('allowPubkey'),
    bannedPubkeys: () => [{ pubkey: 'a'.repeat(64), reason: 'spam' }],
    allowedPubkeys: () => [],
    banEvent: record('banEvent'),
    allowEvent: record('allowEvent'),
    bannedEvents: () => [{ id: 'b'.repeat(64) }],
    allowKind: record('allowKind'),
    disallowKind: record('disallowKind'),
    allowedKinds: () => [1, 7],
    blockIp: record('blockIp'),
    unblockIp: record('unblockIp'),
    blockedIps: () => [{ ip: '10.0.0.1' }],
    changeInfo: record('changeInfo'),
  };
  return { ops, calls };
}

const run = (ops: ManagementOps, method: string, params: unknown[] = []) => handleRequest(JSON.stringify({ method, params }), ops);

describe('NIP-86 method table', () => {
  it('supportedmethods lists every NIP-86 method but listeventsneedingmoderation, and each one answers', () => {
    const { ops } = recorder();
    const methods = IMPLEMENTED_METHODS;
    expect(run(ops, 'supportedmethods')).toEqual({ result: methods, error: null });
    for (const method of methods) expect(run(ops, method).error ?? '', method).not.toMatch(/^unsupported method/);
    expect(run(ops, 'listeventsneedingmoderation').error).toBe('unsupported method: listeventsneedingmoderation');
  });

  it('calls the state with normalised params and answers true', () => {
    const { ops, calls } = recorder();
    const pubkey = 'c'.repeat(64);
    expect(run(ops, 'banpubkey', [pubkey, 'spam'])).toEqual({ result: true, error: null });
    expect(run(ops, 'allowpubkey', [nip19.npubEncode(pubkey)])).toEqual({ result: true, error: null });
    expect(run(ops, 'banevent', ['D'.repeat(64)]).result).toBe(true);
    expect(run(ops, 'allowevent', ['d'.repeat(64)]).result).toBe(true);
    expect(run(ops, 'allowkind', [30023]).result).toBe(true);
    expect(run(ops, 'disallowkind', [1]).result).toBe(true);
    expect(run(ops, 'blockip', ['::ffff:192.0.2.1']).result).toBe(true);
    expect(run(ops, 'unblockip', ['2001:DB8:0:0::1']).result).toBe(true);
    expect(run(ops, 'changerelayname', ['New']).result).toBe(true);
    expect(run(ops, 'changerelaydescription', ['Desc']).result).toBe(true);
    expect(run(ops, 'changerelayicon', ['https://example.org/i.png']).result).toBe(true);
    expect(calls).toEqual([
      ['banPubkey', pubkey, 'spam'],
      ['allowPubkey', pubkey, ''],
      ['banEvent', 'd'.repeat(64), ''],
      ['allowEvent', 'd'.repeat(64)],
      ['allowKind', 30023],
      ['disallowKind', 1],
      ['blockIp', '192.0.2.1', ''],
      ['unblockIp', '2001:db8::1'],
      ['changeInfo', 'name', 'New'],
      ['changeInfo', 'description', 'Desc'],
      ['changeInfo', 'icon', 'https://example.org/i.png'],
    ]);
  });

  it('list methods answer the state', () => {
    const { ops } = recorder();
    expect(run(ops, 'listbannedpubkeys').result).toEqual([{ pubkey: 'a'.repeat(64), reason: 'spam' }]);
    expect(run(ops, 'listallowedpubkeys').result).toEqual([]);
    expect(run(ops, 'listbannedevents').result).toEqual([{ id: 'b'.repeat(64) }]);
    expect(run(ops, 'listallowedkinds').result).toEqual([1, 7]);
    expect(run(ops, 'listblockedips').result).toEqual([{ ip: '10.0.0.1' }]);
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '[1]'],
    ['no method', '{"params":[]}'],
    ['params not an array', '{"method":"banpubkey","params":"x"}'],
    ['unknown method', '{"method":"listeventsneedingmoderation","params":[]}'],
    ['inherited name', '{"method":"toString","params":[]}'],
    ['bad pubkey', '{"method":"banpubkey","params":["zz"]}'],
    ['nsec as pubkey', '{"method":"banpubkey","params":["nsec1xyz"]}'],
    ['bad id', '{"method":"banevent","params":[12]}'],
    ['bad kind', '{"method":"allowkind","params":["1"]}'],
    ['negative kind', '{"method":"allowkind","params":[-1]}'],
    ['bad ip', '{"method":"blockip","params":["300.1.1.1"]}'],
    ['bad icon', '{"method":"changerelayicon","params":["javascript:alert(1)"]}'],
    ['bad reason', `{"method":"banpubkey","params":["${'a'.repeat(64)}", 5]}`],
  ])('errors without calling the state: %s', (_, body) => {
    const { ops, calls } = recorder();
    const response = handleRequest(body, ops);
    expect(response.result).toBeNull();
    expect(typeof response.error).toBe('string');
    expect(calls).toEqual([]);
  });
});

describe('normaliseIp', () => {
  it('gives one form per address', () => {
    expect(normaliseIp('127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseIp('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(normaliseIp('0000:0000:0000:0000:0000:0000:0000:0001')).toBe('::1');
    expect(normaliseIp('[2001:DB8::1]')).toBe('2001:db8::1');
    expect(normaliseIp('localhost')).toBeUndefined();
  });
});

describe('management state: policies over the persisted lists', () => {
  const A = 'a'.repeat(64),
    B = 'b'.repeat(64),
    C = 'c'.repeat(64);
  const event = (pubkey: string, kind = 1) => ({ id: 'e'.repeat(64), pubkey, kind, created_at: 0, tags: [], content: '', sig: '' });
  function setup(patch: (c: Config) => Config = (c) => c) {
    const config = patch({ ...defaultConfig(), management: { admins: [A] } });
    const store = EventStore.open(':memory:', { synchronous: 'normal' });
    const management = new Management(config, store.management, new NobleVerifier(), () => 0);
    const pipeline = management.policies(writePolicies(config));
    const verdict = (e: ReturnType<typeof event>) => runPolicies(pipeline, e, { now: 0 })?.text;
    return { management, verdict, store };
  }

  it('pubkey allow list: union with write.pubkeys.allow', () => {
    const { management, verdict } = setup((c) => ({ ...c, write: { ...c.write, pubkeys: { allow: [B], deny: [] } } }));
    expect(verdict(event(B))).toBeUndefined();
    expect(verdict(event(C))).toMatch(/only members/);
    management.allowPubkey(C, '');
    expect(verdict(event(C))).toBeUndefined();
    expect(verdict(event(B))).toBeUndefined();
    management.banPubkey(B, '');
    expect(verdict(event(B))).toMatch(/banned/);
  });

  it('kind allow list: restricts only once non-empty when the config allows "*"; union with a config list', () => {
    const open = setup();
    expect(open.verdict(event(B, 5))).toBeUndefined();
    open.management.allowKind(1);
    expect(open.verdict(event(B, 5))).toBe('kind 5 is not accepted here');
    expect(open.verdict(event(B, 1))).toBeUndefined();
    const listed = setup((c) => ({ ...c, write: { ...c.write, kinds: { allow: [0], deny: [7] } } }));
    expect(listed.verdict(event(B, 1))).toBe('kind 1 is not accepted here');
    listed.management.allowKind(1);
    listed.management.allowKind(7);
    expect(listed.verdict(event(B, 1))).toBeUndefined();
    expect(listed.verdict(event(B, 0))).toBeUndefined();
    expect(listed.verdict(event(B, 7))).toBe('kind 7 is not accepted here'); // write.kinds.deny still applies
  });

  it('info overrides and IP blocks', () => {
    const { management, store } = setup();
    management.changeInfo('name', 'Renamed');
    expect(management.effectiveConfig().info.name).toBe('Renamed');
    expect(store.management.infoOverrides()).toEqual({ name: 'Renamed' });
    management.blockIp('192.0.2.1', '');
    expect(management.isIpBlocked('::ffff:192.0.2.1')).toBe(true);
    expect(management.isIpBlocked('192.0.2.2')).toBe(false);
  });
});
