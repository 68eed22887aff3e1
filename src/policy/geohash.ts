/**
 * Geohash scope: a relay for a place, given as geohash prefixes in the config.
 *
 * A `g` value is inside the scope when it starts with a scope prefix (the same cell or a finer one).
 * A coarser value that contains the scope (a prefix of a scope prefix, e.g. "u4" for scope "u4pru") is
 * tolerated next to an inside value — clients may tag several precisions of one location — but does
 * not count on its own: a whole-country cell alone says nothing about being here. Values outside are
 * ignored as long as one value is inside. Events without `g` tags pass, except kinds listed in
 * `scopes.geohash.require_for_kinds`. GeoJSON areas (`scopes.geohash.areas`, geoarea.ts) are turned
 * into cells when the config loads (geocover.ts) and merged with the prefixes. Several places in one
 * process: each `hosts:` block (src/config/hosts.ts) may set its own scope.
 */
import { kindSet, parseKindSelectors, type KindSelector } from '../config/kinds.js';
import { integer, parsed, type Nested } from '../config/rows.js';
import { describeValue, type Parser } from '../config/values.js';
import { reject } from '../protocol/prefixes.js';
import { parseGeoAreas } from './geoarea.js';
import { coverAreas, GEOHASH_ALPHABET, TooManyCells } from './geocover.js';
import { policy, type Policy } from './pipeline.js';

export { GEOHASH_ALPHABET };
const GEOHASH = /^[0123456789bcdefghjkmnpqrstuvwxyz]+$/;
const MAX_PRECISION = 12;

type Result<V> = ReturnType<Parser<V>>;

/** `scopes.geohash.prefixes`: geohash strings, lowercased, 1–12 characters; duplicates dropped. */
export const parseGeohashPrefixes: Parser<string[]> = (value): Result<string[]> => {
  if (!Array.isArray(value)) return { ok: false, reason: `expected a list of geohashes such as [u4pru], got ${describeValue(value)}` };
  const out: string[] = [];
  for (const [i, item] of (value as unknown[]).entries()) {
    const at = `[${i}]`;
    if (typeof item !== 'string')
      return { ok: false, reason: `expected a geohash string, got ${describeValue(item)} (put it in quotes)`, at };
    const cell = item.trim().toLowerCase();
    if (cell.length < 1 || cell.length > MAX_PRECISION) {
      return { ok: false, reason: `${JSON.stringify(item)} must be 1 to ${MAX_PRECISION} characters long`, at };
    }
    if (!GEOHASH.test(cell)) {
      return {
        ok: false,
        reason: `${JSON.stringify(item)} has characters outside the geohash alphabet (${GEOHASH_ALPHABET}: no a, i, l, o)`,
        at,
      };
    }
    if (!out.includes(cell)) out.push(cell);
  }
  return { ok: true, value: out };
};

/** The `scopes:` section: a relay for a place. */
export const SCOPES_KEYS = {
  'scopes.geohash.prefixes': parsed(parseGeohashPrefixes, {
    default: [],
    reloadable: true,
    description:
      'Geohash cells the relay serves (e.g. [u4pru]); events with g tags need one value equal to or inside one of them ("blocked:"); [] = no scope.',
  }),
  'scopes.geohash.areas': parsed(parseGeoAreas, {
    default: [],
    reloadable: true,
    description:
      "GeoJSON areas (Polygon, MultiPolygon, Feature, FeatureCollection; [longitude, latitude]), each written inline or as the path of a .geojson / .json file (relative to this file's directory, read at every load and reload); turned into geohash cells at load and served like prefixes.",
  }),
  'scopes.geohash.area_precision': integer({
    min: 1,
    max: 12,
    default: 6,
    reloadable: true,
    description:
      'Length of the finest cells covering scopes.geohash.areas along their edges (6 ≈ 1.2 × 0.6 km); cells wholly inside stay coarser.',
  }),
  'scopes.geohash.require_for_kinds': parsed(parseKindSelectors, {
    default: [],
    reloadable: true,
    description: 'Kinds refused without any g (geohash) tag, e.g. [20000] ("blocked: kind N needs a g (geohash) tag here").',
  }),
};

type Scope = Nested<typeof SCOPES_KEYS>['scopes']['geohash'];

/** The event's `g` values, lowercased (tags without a string value are ignored). */
function geohashes(tags: readonly (readonly string[])[]): string[] {
  const values: string[] = [];
  for (const tag of tags) if (tag[0] === 'g' && typeof tag[1] === 'string' && tag[1] !== '') values.push(tag[1].toLowerCase());
  return values;
}

/** Whether the scope refuses anything (NIP-11 restricted_writes). */
export const restrictsByGeohash = (scope: Scope): boolean =>
  scope.prefixes.length > 0 || scope.areas.length > 0 || scope.require_for_kinds.length > 0;

/** Most cells the areas may turn into (a config error above it names scopes.geohash.areas). */
const MAX_AREA_CELLS = 10_000;

/** Covers already computed, by the (frozen) areas list and the precision. */
const covers = new WeakMap<Scope['areas'], Map<number, readonly string[]>>();

function areaCells(areas: Scope['areas'], precision: number): readonly string[] {
  if (areas.length === 0) return [];
  const byPrecision = covers.get(areas) ?? new Map<number, readonly string[]>();
  covers.set(areas, byPrecision);
  let cells = byPrecision.get(precision);
  if (cells === undefined) {
    cells = coverAreas(areas, precision, MAX_AREA_CELLS);
    byPrecision.set(precision, cells);
  }
  return cells;
}

/**
 * The cells the scope serves: `prefixes` plus the cover of `areas` at `area_precision`, without cells
 * that lie inside another one. Throws TooManyCells past MAX_AREA_CELLS (the config check refuses that).
 */
export function scopeCells(scope: Scope): readonly string[] {
  const set = new Set([...scope.prefixes, ...areaCells(scope.areas, scope.area_precision)]);
  const insideAnother = (cell: string): boolean => [...cell].some((_, i) => i > 0 && set.has(cell.slice(0, i)));
  return [...set].filter((cell) => !insideAnother(cell));
}

/** Cross-rule of scopes.geohash.areas: the cover must stay under MAX_AREA_CELLS. */
export function areaCoverProblem(scope: Scope): string | undefined {
  try {
    scopeCells(scope);
    return undefined;
  } catch (error) {
    if (!(error instanceof TooManyCells)) throw error;
    return `the areas need more than ${MAX_AREA_CELLS} geohash cells at scopes.geohash.area_precision ${scope.area_precision}; lower the precision or simplify the areas`;
  }
}

/** How the refusal names the scope: a few cells, then how many more. */
function describeCells(cells: readonly string[]): string {
  return cells.length <= 5 ? cells.join(', ') : `${cells.slice(0, 5).join(', ')} and ${cells.length - 5} more cells`;
}

/** All proper prefixes of a geohash ("u4p" → "u", "u4"). */
const coarserThan = (cell: string): string[] => [...cell].map((_, i) => cell.slice(0, i)).filter((p) => p !== '');

/** The `scopes.geohash` rule; call only when restrictsByGeohash(scope). `prefixes`: scopeCells(scope). */
export function geohashScope(prefixes: readonly string[], requireForKinds: readonly KindSelector[]): Policy {
  const required = kindSet(requireForKinds);
  const serves = describeCells(prefixes);
  const cells = new Set(prefixes);
  const containing = new Set(prefixes.flatMap(coarserThan));
  // Only the first MAX_PRECISION characters can name a scope cell (a long g value costs no more).
  const inside = (value: string): boolean => {
    for (let length = 1; length <= Math.min(value.length, MAX_PRECISION); length++) if (cells.has(value.slice(0, length))) return true;
    return false;
  };
  return policy('scopes.geohash', (event) => {
    const values = geohashes(event.tags);
    if (values.length === 0) {
      return required.has(event.kind) ? reject('blocked', `kind ${event.kind} needs a g (geohash) tag here`) : undefined;
    }
    if (prefixes.length === 0) return undefined;
    if (values.some(inside)) return undefined;
    const listed = values.slice(0, 5).join(', ') + (values.length > 5 ? ', …' : '');
    const coarseOnly = values.every((value) => containing.has(value));
    return reject(
      'blocked',
      coarseOnly
        ? `this relay serves ${serves}; the event's location (g tags ${listed}) is coarser than it — add a g tag inside it`
        : `this relay serves ${serves}; the event's location (g tags ${listed}) is outside it`,
    );
  });
}
