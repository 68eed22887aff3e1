/** Walks a parsed YAML mapping against the schema: each known key to `onValue`, anything else to `onProblem`. */
import { closest, describeValue } from './values.js';
import { SCHEMA, SECTIONS, specFor, type KeySpec } from './schema.js';

export function walk(
  node: Record<string, unknown>,
  section: string,
  onValue: (spec: KeySpec, value: unknown, path: string) => void,
  onProblem: (key: string, reason: string) => void,
): void {
  for (const [name, value] of Object.entries(node)) {
    const path = section === '' ? name : `${section}.${name}`;
    const spec = specFor(path);
    if (spec !== undefined) {
      onValue(spec, value, path);
    } else if (SECTIONS.has(path)) {
      // A section left empty (`limits:` with every line commented out) means all defaults.
      if (value === null) continue;
      if (isMapping(value)) walk(value, path, onValue, onProblem);
      else onProblem(path, `expected a mapping of keys (${childrenOf(path).join(', ')}), got ${describeValue(value)}`);
    } else {
      onProblem(path, unknownKeyReason(name, section));
    }
  }
}

/** Names directly inside a section ('' = the top level). */
function childrenOf(section: string): string[] {
  const prefix = section === '' ? '' : `${section}.`;
  const names = [...SCHEMA.map((spec) => spec.key as string), ...SECTIONS]
    .filter((path) => path.startsWith(prefix))
    .map((path) => path.slice(prefix.length).split('.')[0]!);
  return [...new Set(names)];
}

function unknownKeyReason(name: string, section: string): string {
  const prefix = section === '' ? '' : `${section}.`;
  const sibling = closest(name, childrenOf(section));
  if (sibling !== undefined) return `unknown key (did you mean "${prefix}${sibling}"?)`;
  // The right name in the wrong place: `port` at the top level → relay.port.
  const everywhere = [...SCHEMA.map((spec) => spec.key as string), ...SECTIONS];
  const byLastName = new Map(everywhere.map((path) => [path.split('.').pop()!, path]));
  const elsewhere = closest(name, [...byLastName.keys()]);
  if (elsewhere !== undefined) return `unknown key (did you mean "${byLastName.get(elsewhere)}"?)`;
  return `unknown key; known keys here: ${childrenOf(section).join(', ')}`;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
