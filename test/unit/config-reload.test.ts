import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../../src/config/load.js';
import { planReload } from '../../src/config/reload.js';
import { RULES, SCHEMA } from '../../src/config/schema.js';
import { valueAt } from '../helpers/config-values.js';

const config = (text: string) => parseConfig(text, 'relay.yaml');

describe('planReload', () => {
  it('an identical config changes nothing and keeps the running object', () => {
    const running = config('write:\n  kinds:\n    deny: [7]\n');
    const plan = planReload(running, config('write:\n  kinds:\n    deny: [7]\n'));
    expect(plan).toEqual({ config: running, applied: [], restartRequired: [], conflicts: [] });
    expect(plan.config).toBe(running);
  });

  it('applies changed reloadable keys, lists changed restart-only keys and keeps their running value', () => {
    const running = config('relay:\n  port: 7000\ninfo:\n  name: old\n');
    const next = config(
      'relay:\n  port: 7001\ninfo:\n  name: new\nwrite:\n  kinds:\n    deny: [7, [20000, 29999]]\nstorage:\n  path: other.sqlite\n',
    );
    const plan = planReload(running, next);
    expect(plan.applied).toEqual(['info.name', 'write.kinds.deny']);
    expect(plan.restartRequired).toEqual(['relay.port', 'storage.path']);
    expect(plan.conflicts).toEqual([]);
    expect(plan.config.info.name).toBe('new');
    expect(plan.config.write.kinds.deny).toEqual([7, [20000, 29999]]);
    expect(plan.config.relay.port).toBe(7000);
    expect(plan.config.storage.path).toBe(running.storage.path);
    expect(Object.isFrozen(plan.config.write.kinds)).toBe(true);
  });

  it('compares lists and rules by value, not by identity', () => {
    const text = 'retention:\n  - { kinds: [1], max_age: 90d }\nwrite:\n  pubkeys:\n    deny: []\n';
    expect(planReload(config(text), config(text)).applied).toEqual([]);
    expect(planReload(config(text), config(text.replace('90d', '30d'))).applied).toEqual(['retention']);
  });

  it('covers every key of the schema: a change of each one lands on the side its reloadable flag says', () => {
    const running = defaultConfig();
    for (const spec of SCHEMA) {
      // A config differing from the defaults in this one key, built without the parser.
      const next = structuredClone(running) as unknown as Record<string, Record<string, unknown>>;
      const parts = spec.key.split('.');
      let node: Record<string, unknown> = next;
      for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
      node[parts.at(-1)!] = ['changed'];
      const plan = planReload(running, next as never);
      if (spec.reloadable) {
        expect(plan.applied, spec.key).toEqual([spec.key]);
        expect(valueAt(plan.config, spec.key), spec.key).toEqual(['changed']);
      } else {
        expect(plan.restartRequired, spec.key).toEqual([spec.key]);
        expect(valueAt(plan.config, spec.key), spec.key).toEqual(valueAt(running, spec.key));
      }
    }
  });

  it('turns on AUTH together with private reading in one reload (auth.enabled is reloadable)', () => {
    const running = config('auth:\n  enabled: false\n');
    const next = config('auth:\n  enabled: true\nmembers:\n  enabled: true\nread:\n  private: true\n');
    const plan = planReload(running, next);
    expect(plan.applied).toEqual(['auth.enabled', 'read.private', 'members.enabled']);
    expect(plan.restartRequired).toEqual([]);
    expect(plan.conflicts).toEqual([]);
  });

  it('declares the keys the running server cannot swap as restart-only, and no cross-key rule depends on one', () => {
    const restartOnly = SCHEMA.filter((spec) => !spec.reloadable).map((spec) => spec.key);
    for (const key of [
      'relay.host',
      'relay.port',
      'relay.trusted_proxies',
      'storage.path',
      'storage.synchronous',
      'verify.workers',
      'limits.max_message_bytes',
      'logging.format',
    ]) {
      expect(restartOnly).toContain(key);
    }
    for (const key of ['relay.url', 'auth.enabled', 'management.admins']) expect(restartOnly).not.toContain(key);
    // Were one to mix both, a reload keeping a running value could break the rule: planReload reports that as a
    // conflict. A rule over restart-only keys alone (metrics.listen against relay.*) keeps holding on the running values.
    const mixed = RULES.filter((rule) => rule.keys.some((key) => !restartOnly.includes(key)));
    expect(mixed.flatMap((rule) => rule.keys).filter((key) => restartOnly.includes(key))).toEqual([]);
  });
});
