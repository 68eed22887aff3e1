/**
 * Kind selectors in the config: a single kind (`1`), an inclusive range (`[30000, 39999]`) or every
 * kind (`"*"`). A list of selectors matches a kind when any selector does.
 */
export type KindSelector = number | readonly [number, number] | '*';

export interface KindSet {
  has(kind: number): boolean;
  /** The selectors as written, for NIP-11 and `explain`. */
  readonly selectors: readonly KindSelector[];
}

const isKind = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535;

/** A schema `Parser`: the list of selectors as plain data (compile it with kindSet()). */
export function parseKindSelectors(value: unknown): { ok: true; value: KindSelector[] } | { ok: false; reason: string } {
  if (!Array.isArray(value)) return { ok: false, reason: 'expected a list of kinds, e.g. [1, 7, [30000, 39999]] or ["*"]' };
  const selectors: KindSelector[] = [];
  for (const item of value as unknown[]) {
    if (item === '*' || isKind(item)) selectors.push(item);
    else if (Array.isArray(item) && item.length === 2 && isKind(item[0]) && isKind(item[1]) && item[0] <= item[1]) {
      selectors.push([item[0], item[1]]);
    } else {
      return { ok: false, reason: `${JSON.stringify(item)} is not a kind (0–65535), a range [low, high] or "*"` };
    }
  }
  return { ok: true, value: selectors };
}

export function kindSet(selectors: readonly KindSelector[]): KindSet {
  const all = selectors.includes('*');
  const singles = new Set(selectors.filter((s): s is number => typeof s === 'number'));
  const ranges = selectors.filter((s): s is readonly [number, number] => Array.isArray(s));
  return {
    selectors,
    has: (kind) => all || singles.has(kind) || ranges.some(([low, high]) => kind >= low && kind <= high),
  };
}
