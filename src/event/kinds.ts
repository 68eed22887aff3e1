export type KindClass = 'regular' | 'replaceable' | 'ephemeral' | 'addressable';

/** NIP-01 kind ranges. */
export function kindClass(kind: number): KindClass {
  if (kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000)) return 'replaceable';
  if (kind >= 20000 && kind < 30000) return 'ephemeral';
  if (kind >= 30000 && kind < 40000) return 'addressable';
  return 'regular';
}

/** The `d` value that names an addressable event: first `d` tag's value, missing = "". */
export function dTagOf(tags: string[][]): string {
  for (const tag of tags) if (tag[0] === 'd') return tag[1] ?? '';
  return '';
}
