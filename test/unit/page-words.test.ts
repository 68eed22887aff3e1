/**
 * The home page's policy in plain words (src/site-page/policy-words.ts), generated from the example
 * configs and from rules each config key adds; the area drawing (area-svg.ts) and kind names.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { areaSvg, extentInWords } from '../../src/site-page/area-svg.js';
import { kindsInWords } from '../../src/site-page/kind-names.js';
import { durationInWords, policyInWords } from '../../src/site-page/policy-words.js';

const example = (name: string) => loadConfig(fileURLToPath(new URL(`../../config/${name}.yaml`, import.meta.url)), {}, {});
const words = (yaml: string) => policyInWords(parseConfig(yaml, 'relay.yaml'));

describe('policy in words', () => {
  it('the default config: anyone posts and reads; kept until deleted or expired', () => {
    const { posting, reading, keeping, area } = words('');
    expect(posting[0]).toBe('Anyone may post here.');
    expect(posting).toContain('Events dated more than 15 minutes ahead are refused.');
    expect(posting).toContain('An event may have up to 65536 characters of text and 2000 tags.');
    expect(reading).toEqual([
      'Anyone can read.',
      'NIP-04 direct messages (4) and gift wraps (1059, 1060) go only to their author and the people they name, after signing in.',
    ]);
    expect(keeping).toEqual([
      'Events are kept until their author deletes them (NIP-09) or they expire (NIP-40).',
      'Ephemeral events (kinds 20000–29999) are passed on live and not stored.',
    ]);
    expect(area).toBeUndefined();
  });

  it('community: members only, how to join, what outsiders may still send', () => {
    const { posting } = policyInWords(example('community'));
    expect(posting.slice(0, 5)).toEqual([
      'Only members may post here.',
      'How to join: ask a member for an invite at https://example.org/join.',
      'Anyone may publish relay lists (10002) and DM relay lists (10050) here.',
      'Anyone may send NIP-04 direct messages (4), gift wraps (1059) and NIP-17 chat messages (14) to a member (tagging the member).',
      'Anything else from others is refused with "blocked: only members of Example Community can post here".',
    ]);
  });

  it('private: only members read; without a blocked_message the operator is the way in', () => {
    const config = example('private');
    expect(policyInWords(config).reading[0]).toBe('Only members can read, after signing in (NIP-42).');
    const silent = { ...config, write: { ...config.write, blocked_message: '' } };
    expect(policyInWords(silent).posting[1]).toBe('Ask the operator (below) to be let in.');
  });

  it('geohash: the cell, the rule for g tags, the kinds that must say where; retention per kind', () => {
    const { posting, keeping, area } = policyInWords(example('geohash'));
    expect(area).toEqual(['u3but']);
    expect(posting).toContain('This relay serves one place: the geohash cell u3but, drawn below.');
    expect(posting).toContain(
      'Events that say nothing of a place are accepted, except BitChat geo-chat (20000), which must say where they are.',
    );
    expect(keeping).toEqual([
      'BitChat geo-chat (20000): kept 5 minutes after arrival, so people who join late see them.',
      'Every other kind: deleted 1 year after they were written.',
      'Other ephemeral events are passed on live and not stored.',
      'Authors can delete their events at any time (NIP-09).',
    ]);
  });

  it('public: rate limits and retention by count', () => {
    const { posting, keeping } = policyInWords(example('public'));
    expect(posting).toContain('From one address: at most 50 events per 10 s.');
    expect(posting).toContain('From one author: at most 20 events per 10 s.');
    expect(keeping).toContain(
      'Profiles (0), follow lists (3) and replaceable events (10000–19999): at most 1000 per author, the oldest deleted first.',
    );
    expect(keeping).toContain(
      'Every other kind: deleted 1 year after they were written; at most 20000 per author, the oldest deleted first.',
    );
  });

  it('allow and deny lists, kinds, proof of work, areas without cells', () => {
    const key = 'a'.repeat(64);
    const { posting } = words(
      `write: { pubkeys: { allow: [${key}], deny: [${'b'.repeat(64)}, ${'c'.repeat(64)}] }, blocked_message: "pay at https://example.org/pay", kinds: { allow: [1, 7, [30000, 39999]], deny: [4] }, min_pow: 20, min_pow_by_kind: [{ kinds: [0], min_pow: 0 }] }\nscopes: { geohash: { require_for_kinds: [1] } }`,
    );
    expect(posting).toEqual(
      expect.arrayContaining([
        'Only 1 listed key may post here; others are refused with "blocked: only members of commons can post here".',
        'How to join: pay at https://example.org/pay.',
        '2 keys may not post here.',
        'Accepted kinds: notes (1), reactions (7) and addressable events (30000–39999).',
        'Never accepted: NIP-04 direct messages (4).',
        'Events need proof of work (NIP-13): an id that starts with at least 20 zero bits.',
        'Profiles (0) need no proof of work.',
        'Notes (1) must say where they are (a g tag).',
      ]),
    );
  });

  it('kinds and durations as a person reads them', () => {
    expect(kindsInWords(['*'])).toBe('every kind');
    expect(kindsInWords([1059, 1, 1060, [5, 9]])).toBe('gift wraps (1059, 1060), notes (1) and kinds 5–9');
    expect(kindsInWords([12345])).toBe('kind 12345');
    expect([1, 300, 3600, 86400 * 90, 31536000].map(durationInWords)).toEqual(['1 second', '5 minutes', '1 hour', '90 days', '1 year']);
  });
});

describe('the area drawing', () => {
  it('one cell: filled, over the 32 cells of its parent, with its title', () => {
    const svg = areaSvg(['u3but'], 'area-title');
    expect(svg.match(/class="area-cell"/g)).toHaveLength(1);
    expect(svg.match(/class="area-grid"/g)).toHaveLength(32);
    expect(svg).toContain('<title id="area-title">The area this relay serves: geohash cell u3but, inside cell u3bu</title>');
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // nothing fetched from elsewhere
    expect(extentInWords(['u3but'])).toBe(
      '55.635 N to 55.679 N, 12.524 E to 12.568 E: about 4.9 km north to south and 2.8 km east to west',
    );
  });

  it('cells far apart: drawn on the world grid; west and south in words', () => {
    const svg = areaSvg(['u3but', '9q8yy'], 't');
    expect(svg.match(/class="area-cell"/g)).toHaveLength(2);
    expect(svg).toContain('inside the world map');
    expect(extentInWords(['9q8yy'])).toMatch(/^37\.749 N to 37\.793 N, 122\.432 W to 122\.388 W:/);
    // Small cells on a large map are still drawn large enough to see.
    for (const width of svg.matchAll(/class="area-cell" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g))
      expect(Number(width[1])).toBeGreaterThanOrEqual(4);
  });
});
