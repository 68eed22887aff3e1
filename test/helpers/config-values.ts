/** The value a config holds at a dotted key or section (`limits.max_limit`, `limits.created_at`). */
export function valueAt(config: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
}
