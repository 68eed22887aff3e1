/** Retention rules: parsing with path-qualified problems, first-match lookup, NIP-11 form. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { compileRetention, parseRetention } from '../../src/retention/rules.js';

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'relay.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.key}: ${p.reason}`);
  }
  throw new Error('expected a ConfigError');
}

describe('parseRetention', () => {
  it('parses the DESIGN example into seconds', () => {
    const config = parseConfig(
      'retention:\n  - { kinds: [[20000, 29999]], keep: 5m }\n  - { kinds: [1, 6, 7], max_age: 90d }\n  - { kinds: ["*"], max_age: 1y, max_per_pubkey: 10000, max_total: 500000 }\n',
      'relay.yaml',
    );
    expect(config.retention).toEqual([
      { kinds: [[20000, 29999]], keep: 300 },
      { kinds: [1, 6, 7], max_age: 90 * 86400 },
      { kinds: ['*'], max_age: 365 * 86400, max_per_pubkey: 10000, max_total: 500000 },
    ]);
    expect(parseConfig('', 'a.yaml').retention).toEqual([]);
  });

  it('names the rule and field in every problem', () => {
    expect(problems('retention:\n  - { kinds: [1], max_age: 1d }\n  - { kinds: [1], max_age: 9x }\n')).toEqual([
      expect.stringMatching(/^retention\[1\]\.max_age: "9x" is not a duration/),
    ]);
    expect(problems('retention:\n  - { kinds: [1], max_agee: 1d }\n')).toEqual([
      'retention[0].max_agee: unknown field (did you mean "max_age"?)',
    ]);
    expect(problems('retention:\n  - { kinds: [1, 7], keep: 5m }\n')[0]).toMatch(/^retention\[0\]\.keep: only for ephemeral kinds/);
    expect(problems('retention:\n  - { kinds: ["*"], keep: 5m }\n')[0]).toMatch(/^retention\[0\]\.keep: only for ephemeral/);
    expect(problems('retention:\n  - { max_age: 1d }\n')[0]).toMatch(/^retention\[0\]\.kinds: missing/);
    expect(problems('retention:\n  - { kinds: [70000], max_age: 1d }\n')[0]).toMatch(/^retention\[0\]\.kinds: 70000 is not a kind/);
    expect(problems('retention:\n  - { kinds: [1] }\n')[0]).toMatch(/^retention\[0\]: a rule needs at least one of/);
    expect(problems('retention:\n  - { kinds: [1], max_total: 0 }\n')[0]).toMatch(/^retention\[0\]\.max_total: expected a whole number/);
    expect(problems('retention:\n  - { kinds: [1], max_per_pubkey: 2.5 }\n')[0]).toMatch(/^retention\[0\]\.max_per_pubkey: /);
    expect(problems('retention: { kinds: [1] }\n')[0]).toMatch(/^retention: expected a list of rules/);
    expect(problems('retention:\n  - 5\n')[0]).toMatch(/^retention\[0\]: expected a rule/);
  });

  it('keep is accepted for ephemeral kinds and ranges', () => {
    expect(parseRetention([{ kinds: [20000, [20001, 29999]], keep: '10m', max_total: 100 }])).toEqual({
      ok: true,
      value: [{ kinds: [20000, [20001, 29999]], keep: 600, max_total: 100 }],
    });
  });
});

describe('compileRetention', () => {
  const retention = compileRetention([
    { kinds: [[20000, 29999]], keep: 300 },
    { kinds: [1, 6, 7], max_age: 100 },
    { kinds: ['*'], max_per_pubkey: 5 },
  ]);

  it('the first rule whose kinds match decides', () => {
    expect(retention.ruleFor(1)?.index).toBe(1);
    expect(retention.ruleFor(7)?.index).toBe(1);
    expect(retention.ruleFor(20001)?.index).toBe(0);
    expect(retention.ruleFor(30023)?.index).toBe(2);
    expect(retention.keepFor(20000)).toBe(300);
    expect(retention.keepFor(1)).toBeUndefined();
    expect(retention.counts).toBe(true);
    expect(compileRetention([{ kinds: [1], max_age: 5 }]).ruleFor(2)).toBeUndefined();
    expect(compileRetention([{ kinds: [1], max_age: 5 }]).counts).toBe(false);
  });

  it('an earlier rule without keep shadows a later keep rule', () => {
    const shadowed = compileRetention([
      { kinds: ['*'], max_age: 10 },
      { kinds: [20000], keep: 60 },
    ]);
    expect(shadowed.keepFor(20000)).toBeUndefined();
  });
});
