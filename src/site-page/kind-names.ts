/** Kinds as a person reads them on the page: "notes (1)", "kinds 30000–39999". */
import type { KindSelector } from '../config/kinds.js';

/** Names of the kinds people meet in everyday clients; others are shown by number. */
const NAMES: Readonly<Record<number, string>> = {
  0: 'profiles',
  1: 'notes',
  3: 'follow lists',
  4: 'NIP-04 direct messages',
  5: 'deletion requests',
  6: 'reposts',
  7: 'reactions',
  14: 'NIP-17 chat messages',
  16: 'generic reposts',
  1059: 'gift wraps',
  1060: 'gift wraps',
  1063: 'file metadata',
  1111: 'comments',
  1984: 'reports',
  9734: 'zap requests',
  9735: 'zaps',
  10000: 'mute lists',
  10002: 'relay lists',
  10050: 'DM relay lists',
  20000: 'BitChat geo-chat',
  22242: 'AUTH events',
  24133: 'NIP-46 remote signing',
  30023: 'articles',
};

const RANGES: ReadonlyArray<readonly [number, number, string]> = [
  [10000, 19999, 'replaceable events'],
  [20000, 29999, 'ephemeral events'],
  [30000, 39999, 'addressable events'],
];

export function kindName(kind: number): string {
  const name = NAMES[kind];
  return name === undefined ? `kind ${kind}` : `${name} (${kind})`;
}

function selectorName(selector: KindSelector): string {
  if (selector === '*') return 'every kind';
  if (typeof selector === 'number') return kindName(selector);
  const [low, high] = selector;
  const named = RANGES.find(([l, h]) => l === low && h === high);
  return named ? `${named[2]} (${low}–${high})` : `kinds ${low}–${high}`;
}

/** "notes (1), reactions (7) and kinds 30000–39999"; kinds of one name together: "gift wraps (1059, 1060)". */
export function kindsInWords(selectors: readonly KindSelector[]): string {
  const named = new Map<string, number[]>();
  const items: (string | number[])[] = [];
  for (const selector of selectors) {
    const name = typeof selector === 'number' ? NAMES[selector] : undefined;
    if (name === undefined) {
      items.push(selectorName(selector));
      continue;
    }
    const kinds = named.get(name);
    if (kinds) kinds.push(selector as number);
    else {
      const group = [selector as number];
      named.set(name, group);
      items.push(group);
    }
  }
  return listInWords(items.map((item) => (typeof item === 'string' ? item : `${NAMES[item[0]!]} (${item.join(', ')})`)));
}

/** "a", "a and b", "a, b and c". */
export function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
