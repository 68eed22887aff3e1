/**
 * The `write:` keys: lists at parsed keys (pubkeys, kind selectors, rules), problems named down to the
 * list item and field, the per-class created_at windows and their cross-key rule.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nip19 from 'nostr-tools/nip19';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig, parseConfig } from '../../src/config/load.js';

const HEX = '3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d';
const NPUB = nip19.npubEncode(HEX);

function problemLines(text: string): string[] {
  try {
    parseConfig(text, 'relay.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'commons-config-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('write: defaults', () => {
  it('nothing is restricted', () => {
    const { write } = defaultConfig();
    expect(write).toEqual({
      pubkeys: { allow: [], deny: [] },
      blocked_message: '',
      kinds: { allow: ['*'], deny: [] },
      min_pow: 0,
      min_pow_by_kind: [],
      limits_by_kind: [],
      created_at_by_class: {
        regular: { max_future_seconds: null, max_past_seconds: null },
        replaceable: { max_future_seconds: null, max_past_seconds: null },
        ephemeral: { max_future_seconds: null, max_past_seconds: null },
        addressable: { max_future_seconds: null, max_past_seconds: null },
      },
    });
  });
});

describe('lists at parsed keys', () => {
  const text = [
    'write:',
    '  pubkeys:',
    `    allow: [${HEX}, ${NPUB}]`,
    '    deny:',
    `      - ${'b'.repeat(64)}`,
    '  kinds:',
    '    allow: [0, 1, [30000, 39999]]',
    '    deny: [4]',
    '  min_pow: 12',
    '  min_pow_by_kind:',
    '    - { kinds: [[20000, 29999]], min_pow: 4 }',
    '  limits_by_kind:',
    '    - kinds: [0]',
    '      max_content_length: 4000',
    '    - { kinds: [1], max_event_tags: 100, max_content_length: 2000 }',
    '  created_at_by_class:',
    '    ephemeral:',
    '      max_future_seconds: 60',
    '      max_past_seconds: 120',
  ].join('\n');

  it('are parsed from a real file (block and flow style), npubs become hex', () => {
    const file = join(dir, 'write.yaml');
    writeFileSync(file, text);
    const { write } = loadConfig(file, undefined, {});
    expect(write.pubkeys).toEqual({ allow: [HEX, HEX], deny: ['b'.repeat(64)] });
    expect(write.kinds).toEqual({ allow: [0, 1, [30000, 39999]], deny: [4] });
    expect(write.min_pow).toBe(12);
    expect(write.min_pow_by_kind).toEqual([{ kinds: [[20000, 29999]], min_pow: 4 }]);
    expect(write.limits_by_kind).toEqual([
      { kinds: [0], max_content_length: 4000 },
      { kinds: [1], max_event_tags: 100, max_content_length: 2000 },
    ]);
    expect(write.created_at_by_class.ephemeral).toEqual({ max_future_seconds: 60, max_past_seconds: 120 });
    expect(write.created_at_by_class.regular).toEqual({ max_future_seconds: null, max_past_seconds: null });
  });

  it('are deep-frozen', () => {
    const { write } = parseConfig(text, 'x');
    expect(Object.isFrozen(write.pubkeys.allow)).toBe(true);
    expect(Object.isFrozen(write.limits_by_kind[0])).toBe(true);
    expect(Object.isFrozen(write.limits_by_kind[0]!.kinds)).toBe(true);
  });
});

describe('problems name the key, the item and the field', () => {
  it('kind selectors', () => {
    expect(problemLines('write:\n  kinds:\n    allow: [1, x]\n')).toEqual([
      'relay.yaml: write.kinds.allow: "x" is not a kind (0–65535), a range [low, high] or "*"',
    ]);
    expect(problemLines('write:\n  kinds:\n    deny: 4\n')[0]).toMatch(/^relay\.yaml: write\.kinds\.deny: expected a list of kinds/);
  });

  it('pubkeys', () => {
    const nsec = nip19.nsecEncode(new Uint8Array(32).fill(9));
    expect(problemLines(`write:\n  pubkeys:\n    allow: [${HEX}, abc]\n    deny: [${nsec}]\n`)).toEqual([
      'relay.yaml: write.pubkeys.allow[1]: expected 64 lowercase hex characters or an npub, got the string "abc"',
      'relay.yaml: write.pubkeys.deny[0]: expected 64 lowercase hex characters or an npub, got an nsec: this is a SECRET key, remove it and rotate it',
    ]);
    expect(problemLines('write:\n  pubkeys:\n    allow: [1]\n')).toEqual([
      'relay.yaml: write.pubkeys.allow[0]: expected a pubkey (hex or npub), got the number 1',
    ]);
    expect(problemLines(`write:\n  pubkeys:\n    allow: ${HEX}\n`)[0]).toContain('write.pubkeys.allow: expected a list of pubkeys');
  });

  it('an unknown key inside a list item', () => {
    expect(problemLines('write:\n  limits_by_kind:\n    - { kinds: [1], max_content_lenght: 5 }\n')).toEqual([
      'relay.yaml: write.limits_by_kind[0].max_content_lenght: unknown key (did you mean "max_content_length"?)',
    ]);
    expect(problemLines('write:\n  min_pow_by_kind:\n    - { kinds: [1], min_pow: 2 }\n    - { kinds: [2], min_paw: 2 }\n')).toEqual([
      'relay.yaml: write.min_pow_by_kind[1].min_paw: unknown key (did you mean "min_pow"?)',
    ]);
    expect(problemLines('write:\n  limits_by_kind:\n    - { kinds: [1], colour: red }\n')[0]).toBe(
      'relay.yaml: write.limits_by_kind[0].colour: unknown key; known keys here: kinds, max_content_length, max_event_tags',
    );
  });

  it('bad values inside a list item', () => {
    expect(problemLines('write:\n  limits_by_kind:\n    - { kinds: [1, "x"], max_event_tags: 3 }\n')).toEqual([
      'relay.yaml: write.limits_by_kind[0].kinds: "x" is not a kind (0–65535), a range [low, high] or "*"',
    ]);
    expect(problemLines('write:\n  limits_by_kind:\n    - { kinds: [1], max_event_tags: -3 }\n')).toEqual([
      'relay.yaml: write.limits_by_kind[0].max_event_tags: must be at least 0, got -3',
    ]);
    expect(problemLines('write:\n  min_pow_by_kind:\n    - { kinds: [1], min_pow: 300 }\n')).toEqual([
      'relay.yaml: write.min_pow_by_kind[0].min_pow: must be from 0 to 256, got 300',
    ]);
    expect(problemLines('write:\n  min_pow_by_kind:\n    - { kinds: [1] }\n')).toEqual([
      'relay.yaml: write.min_pow_by_kind[0]: missing min_pow',
    ]);
    expect(problemLines('write:\n  min_pow_by_kind:\n    - { min_pow: 1 }\n')[0]).toBe(
      'relay.yaml: write.min_pow_by_kind[0]: missing kinds: every rule names the kinds it applies to',
    );
    expect(problemLines('write:\n  limits_by_kind:\n    - 5\n')[0]).toMatch(
      /^relay\.yaml: write\.limits_by_kind\[0\]: expected a rule such as/,
    );
    expect(problemLines('write:\n  limits_by_kind: { kinds: [1] }\n')[0]).toMatch(
      /^relay\.yaml: write\.limits_by_kind: expected a list of rules/,
    );
  });

  it('several problems at once, with the plain keys too', () => {
    expect(problemLines('write:\n  min_pow: -1\n  kinds:\n    allow: [70000]\n  blocked_message: 5\n  min_pows: 1\n')).toEqual([
      'relay.yaml: write.min_pow: must be from 0 to 256, got -1',
      'relay.yaml: write.kinds.allow: 70000 is not a kind (0–65535), a range [low, high] or "*"',
      'relay.yaml: write.blocked_message: expected a string, got the number 5 (put it in quotes)',
      'relay.yaml: write.min_pows: unknown key (did you mean "write.min_pow"?)',
    ]);
  });
});

describe('created_at_by_class', () => {
  it('may only tighten the global window', () => {
    expect(problemLines('write:\n  created_at_by_class:\n    ephemeral:\n      max_future_seconds: 1000\n')).toEqual([
      'relay.yaml: write.created_at_by_class.ephemeral.max_future_seconds: must not exceed limits.created_at.max_future_seconds (900): a class window can only be tighter, got 1000',
    ]);
    // A global null (no limit) allows any class value.
    const config = parseConfig('write:\n  created_at_by_class:\n    regular:\n      max_past_seconds: 31536000\n', 'x');
    expect(config.write.created_at_by_class.regular.max_past_seconds).toBe(31536000);
    expect(problemLines('write:\n  created_at_by_class:\n    ephemral:\n      max_future_seconds: 10\n')[0]).toContain(
      'write.created_at_by_class.ephemral: unknown key (did you mean "write.created_at_by_class.ephemeral"?)',
    );
  });
});
