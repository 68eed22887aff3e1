/**
 * Geohash scope (src/policy/geohash.ts): the `scopes.geohash.*` keys (problems named down to the list
 * item) and the pure policy — inside, finer, coarser-alongside, coarse-only, outside, required kinds.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, parseConfig } from '../../src/config/load.js';
import type { NostrEvent } from '../../src/event/types.js';
import { relayInformation } from '../../src/nips/nip11.js';
import { geohashScope, parseGeohashPrefixes, restrictsByGeohash } from '../../src/policy/geohash.js';
import { runPolicies } from '../../src/policy/pipeline.js';
import { writePolicies } from '../../src/policy/write.js';

const ctx = { now: 1_700_000_000 };
const ev = (kind: number, ...cells: string[]): NostrEvent => ({
  id: 'f'.repeat(64),
  pubkey: 'a'.repeat(64),
  created_at: ctx.now,
  kind,
  tags: [...cells.map((cell) => ['g', cell]), ['n', 'alice']],
  content: 'hi',
  sig: '0'.repeat(128),
});

function problemLines(text: string): string[] {
  try {
    parseConfig(text, 'relay.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('scopes.geohash config', () => {
  it('defaults: no scope, nothing required, nothing in the pipeline', () => {
    const config = defaultConfig();
    expect(config.scopes.geohash).toEqual({ prefixes: [], areas: [], area_precision: 6, require_for_kinds: [] });
    expect(restrictsByGeohash(config.scopes.geohash)).toBe(false);
    expect(writePolicies(config)).toEqual([]);
  });

  it('prefixes are lowercased and deduplicated; kinds take selectors', () => {
    const config = parseConfig('scopes:\n  geohash:\n    prefixes: [U3BUT, u3but, u4pru]\n    require_for_kinds: [20000, [1, 2]]\n', 'x');
    expect(config.scopes.geohash).toEqual({
      prefixes: ['u3but', 'u4pru'],
      areas: [],
      area_precision: 6,
      require_for_kinds: [20000, [1, 2]],
    });
    expect(writePolicies(config).map((p) => p.name)).toEqual(['scopes.geohash']);
  });

  it('problems name the key and the item', () => {
    expect(problemLines('scopes:\n  geohash:\n    prefixes: [u4a]\n').join('\n')).toContain(
      'scopes.geohash.prefixes[0]: "u4a" has characters outside the geohash alphabet',
    );
    expect(problemLines('scopes:\n  geohash:\n    prefixes: [u4pru, "0123456789bcd"]\n').join('\n')).toContain(
      'scopes.geohash.prefixes[1]: "0123456789bcd" must be 1 to 12 characters long',
    );
    expect(problemLines('scopes:\n  geohash:\n    prefixes: [""]\n').join('\n')).toContain(
      'scopes.geohash.prefixes[0]: "" must be 1 to 12',
    );
    expect(problemLines('scopes:\n  geohash:\n    prefixes: [12345]\n').join('\n')).toContain(
      'scopes.geohash.prefixes[0]: expected a geohash string',
    );
    expect(problemLines('scopes:\n  geohash:\n    prefixes: u4pru\n').join('\n')).toContain(
      'scopes.geohash.prefixes: expected a list of geohashes',
    );
    expect(problemLines('scopes:\n  geohash:\n    require_for_kinds: [x]\n').join('\n')).toContain('scopes.geohash.require_for_kinds:');
    expect(problemLines('scopes:\n  geohash:\n    prefix: [u4pru]\n').join('\n')).toContain('did you mean "scopes.geohash.prefixes"');
  });

  it('parseGeohashPrefixes accepts the whole alphabet and 12 characters', () => {
    expect(parseGeohashPrefixes(['0123456789bc', 'defghjkmnpqr', 'stuvwxyz'])).toEqual({
      ok: true,
      value: ['0123456789bc', 'defghjkmnpqr', 'stuvwxyz'],
    });
    for (const bad of ['a', 'i', 'l', 'o', 'u4-p']) expect(parseGeohashPrefixes([bad]).ok).toBe(false);
  });

  it('NIP-11 restricted_writes when a scope or a required kind is set', () => {
    const info = (yaml: string) => (relayInformation(parseConfig(yaml, 'x')).limitation as Record<string, unknown>).restricted_writes;
    expect(info('')).toBe(false);
    expect(info('scopes:\n  geohash:\n    prefixes: [u3but]\n')).toBe(true);
    expect(info('scopes:\n  geohash:\n    require_for_kinds: [20000]\n')).toBe(true);
  });
});

describe('geohash scope policy', () => {
  const scope = geohashScope(['u3but', 'u4pru'], [20000]);
  const check = (event: NostrEvent) => runPolicies([scope], event, ctx);

  it.each([
    ['the scope cell itself', ['u3but']],
    ['a finer cell inside', ['u3butzq']],
    ['the second prefix', ['u4pruy']],
    ['several precisions, BitChat-style', ['u', 'u3', 'u3b', 'u3bu', 'u3but', 'u3butz']],
    ['one inside among outside ones', ['dr5r', 'u3butz']],
    ['uppercase value', ['U3BUTZ']],
  ])('accepts %s', (_name, cells) => {
    expect(check(ev(20000, ...cells))).toBeUndefined();
    expect(check(ev(1, ...cells))).toBeUndefined();
  });

  it('refuses a location outside, naming the prefixes and the g values', () => {
    expect(check(ev(1, 'dr5ru', 'dr5r'))).toEqual({
      prefix: 'blocked',
      text: "this relay serves u3but, u4pru; the event's location (g tags dr5ru, dr5r) is outside it",
    });
    // a neighbour cell at the same precision is outside
    expect(check(ev(20000, 'u3bus'))?.text).toMatch(/is outside it$/);
  });

  it('refuses coarse cells alone: they contain the scope but say nothing about being in it', () => {
    const rejection = check(ev(20000, 'u', 'u3', 'u3bu'));
    expect(rejection?.prefix).toBe('blocked');
    expect(rejection?.text).toBe(
      "this relay serves u3but, u4pru; the event's location (g tags u, u3, u3bu) is coarser than it — add a g tag inside it",
    );
  });

  it('required kinds need a g tag; other kinds without g tags are unaffected', () => {
    expect(check(ev(20000))).toEqual({ prefix: 'blocked', text: 'kind 20000 needs a g (geohash) tag here' });
    expect(check({ ...ev(20000), tags: [['g', '']] })).toEqual({ prefix: 'blocked', text: 'kind 20000 needs a g (geohash) tag here' });
    expect(check(ev(1))).toBeUndefined();
    expect(check(ev(0))).toBeUndefined();
    expect(check(ev(20001))).toBeUndefined();
  });

  it('require_for_kinds works without prefixes (any location accepted)', () => {
    const only = geohashScope([], [[20000, 20001]]);
    expect(runPolicies([only], ev(20001), ctx)?.text).toBe('kind 20001 needs a g (geohash) tag here');
    expect(runPolicies([only], ev(20001, 'dr5ru'), ctx)).toBeUndefined();
  });

  it('runs after the kind rules', () => {
    const config = parseConfig('write:\n  kinds:\n    deny: [20000]\nscopes:\n  geohash:\n    prefixes: [u3but]\n', 'x');
    expect(writePolicies(config).map((p) => p.name)).toEqual(['write.kinds.deny', 'scopes.geohash']);
    expect(runPolicies(writePolicies(config), ev(20000, 'dr5ru'), ctx)?.text).toBe('kind 20000 is not accepted here');
  });
});
