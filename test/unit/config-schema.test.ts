/**
 * The table and the type inferred from it: `Config` is not written by hand, so these pin what the row
 * helpers infer (checked by `tsc`, which covers test/) and what the composed table holds.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import type { KindSelector } from '../../src/config/kinds.js';
import { boolean, integer, oneOf, parsed, string, type Nested } from '../../src/config/rows.js';
import { SCHEMA } from '../../src/config/schema.js';
import type { Config, LogLevel, RetentionRule, VirtualHost } from '../../src/config/types.js';
import type { KindLimitRule, PowRule } from '../../src/policy/config.js';
import type { AreaPolygon } from '../../src/policy/geoarea.js';
import type { Rate } from '../../src/policy/rate-limit.js';
import { parseKindList } from '../../src/policy/read.js';

const RELAY_YAML = fileURLToPath(new URL('../../config/relay.yaml', import.meta.url));
const about = { reloadable: true, description: 'A key of a test table.' } as const;

describe('row helpers', () => {
  it('infer the value type of each kind of row, nested by dotted key', () => {
    const rows = {
      'a.text': string({ ...about, default: '' }),
      'a.count': integer({ ...about, min: 0, default: 1 }),
      'a.deep.limit': integer({ ...about, nullable: true, default: null }),
      'a.on': boolean({ ...about, default: false }),
      'b.mode': oneOf(['fast', 'safe'], { ...about, default: 'safe' }),
      'b.kinds': parsed(parseKindList, { ...about, default: [1] }),
      'b.maybe_kinds': parsed(parseKindList, { ...about, nullable: true, default: null }),
      top: integer({ ...about, default: 0 }),
    };
    expectTypeOf<Nested<typeof rows>>().toEqualTypeOf<{
      a: { text: string; count: number; deep: { limit: number | null }; on: boolean };
      b: { mode: 'fast' | 'safe'; kinds: readonly number[]; maybe_kinds: readonly number[] | null };
      top: number;
    }>();
    expect(rows['a.deep.limit']).toMatchObject({ type: 'integer', nullable: true, default: null });
    expect(rows['b.mode']).toMatchObject({ type: 'enum', values: ['fast', 'safe'], default: 'safe' });
    expect(rows['b.kinds']).toMatchObject({ type: 'parsed', parse: parseKindList, default: [1] });
    expect(rows['a.count']).not.toHaveProperty('nullable');
  });

  it('refuse a default of the wrong type, and null where the row is not nullable', () => {
    // Each line compiles only because of its @ts-expect-error: tsc (npm run typecheck) fails when one stops being an error.
    // @ts-expect-error a string default for an integer
    integer({ ...about, default: '1' });
    // @ts-expect-error null without nullable: true
    integer({ ...about, default: null });
    // @ts-expect-error a word the enum does not list
    oneOf(['fast', 'safe'], { ...about, default: 'slow' });
    // @ts-expect-error a default the parser could not have produced
    parsed(parseKindList, { ...about, default: ['*'] });
    // @ts-expect-error null without nullable: true
    parsed(parseKindList, { ...about, default: null });
    expect(true).toBe(true);
  });
});

describe('Config, inferred from the table', () => {
  it('has the sections of config/relay.yaml and hosts', () => {
    expectTypeOf<keyof Config>().toEqualTypeOf<
      | 'relay'
      | 'server'
      | 'info'
      | 'storage'
      | 'verify'
      | 'query'
      | 'limits'
      | 'write'
      | 'auth'
      | 'rate_limits'
      | 'read'
      | 'members'
      | 'scopes'
      | 'search'
      | 'negentropy'
      | 'management'
      | 'logging'
      | 'reload'
      | 'metrics'
      | 'backup'
      | 'cluster'
      | 'retention'
      | 'hosts'
    >();
    expectTypeOf<Config['hosts']>().toEqualTypeOf<readonly VirtualHost[]>();
  });

  it('holds what each key parses to, lists read-only', () => {
    expectTypeOf<Config['relay']>().toEqualTypeOf<{ host: string; port: number; url: string; trusted_proxies: readonly string[] }>();
    expectTypeOf<Config['server']['implementation']>().toEqualTypeOf<'auto' | 'uws' | 'ws'>();
    expectTypeOf<Config['verify']['implementation']>().toEqualTypeOf<'auto' | 'native' | 'wasm'>();
    expectTypeOf<Config['limits']['default_limit']>().toEqualTypeOf<number | null>();
    expectTypeOf<Config['limits']['created_at']>().toEqualTypeOf<{ max_future_seconds: number | null; max_past_seconds: number | null }>();
    expectTypeOf<Config['write']['kinds']['allow']>().toEqualTypeOf<readonly KindSelector[]>();
    expectTypeOf<Config['write']['min_pow_by_kind']>().toEqualTypeOf<readonly PowRule[]>();
    expectTypeOf<Config['write']['limits_by_kind']>().toEqualTypeOf<readonly KindLimitRule[]>();
    expectTypeOf<Config['rate_limits']['events_per_pubkey']['ephemeral']>().toEqualTypeOf<Rate | null>();
    expectTypeOf<Config['rate_limits']['max_connections_per_ip']>().toEqualTypeOf<number | null>();
    expectTypeOf<Config['read']['auth_required_kinds']>().toEqualTypeOf<readonly number[]>();
    expectTypeOf<Config['scopes']['geohash']['areas']>().toEqualTypeOf<readonly AreaPolygon[]>();
    expectTypeOf<Config['logging']['level']>().toEqualTypeOf<LogLevel>();
    expectTypeOf<LogLevel>().toEqualTypeOf<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'>();
    expectTypeOf<Config['metrics']['listen']>().toEqualTypeOf<string>();
    expectTypeOf<Config['backup']>().toEqualTypeOf<{ every: number | null; keep: number; dir: string }>();
    expectTypeOf<Config['retention']>().toEqualTypeOf<readonly RetentionRule[]>();
    expect(SCHEMA.length).toBeGreaterThan(0);
  });
});

describe('the composed table', () => {
  it('lists the keys in the order of config/relay.yaml', () => {
    const keys: string[] = [];
    const walk = (map: YAMLMap, prefix: string): void => {
      for (const pair of map.items) {
        const name = isScalar(pair.key) ? String(pair.key.value) : '?';
        if (isMap(pair.value)) walk(pair.value, `${prefix}${name}.`);
        else keys.push(`${prefix}${name}`);
      }
    };
    walk(parseDocument(readFileSync(RELAY_YAML, 'utf8')).contents as YAMLMap, '');
    expect(SCHEMA.map((spec) => spec.key)).toEqual(keys);
  });

  it('keeps each section together', () => {
    const sections = SCHEMA.map((spec) => spec.key.split('.')[0]!);
    const runs = sections.filter((section, i) => section !== sections[i - 1]);
    expect(runs).toEqual([...new Set(sections)]);
  });

  it('describes every key in a sentence and names only COMMONS_ environment variables', () => {
    for (const spec of SCHEMA) {
      expect(spec.description, spec.key).toMatch(/^\S.*\.$/s);
      if (spec.env !== undefined) expect(spec.env, spec.key).toMatch(/^COMMONS_[A-Z]+(_[A-Z]+)*$/);
    }
  });
});
