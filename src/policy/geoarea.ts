/**
 * `scopes.geohash.areas`: GeoJSON areas (RFC 7946), each given inline in the config or as the path of a
 * .geojson / .json file (relative paths from the config file's directory), checked and flattened to
 * polygons when the config loads — a file is read again on every load, so a reload picks up its new
 * content. The cover (polygons → geohash cells) is in geocover.ts.
 *
 * Accepted: Polygon, MultiPolygon, Feature (with one of them as geometry), FeatureCollection. Positions
 * are [longitude, latitude] in degrees; rings must be closed (first position = last); the first ring of a
 * polygon is its outline, the others are holes. Winding order is ignored; a self-intersecting ring is not
 * refused and is read with the even-odd rule. An edge spanning more than 180° of longitude would cross
 * the antimeridian and is refused (RFC 7946 §3.1.9: split such areas in two).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { noteFileRead } from '../config/files-read.js';
import { describeValue, type ParseContext, type Parser } from '../config/values.js';

export type Position = readonly [longitude: number, latitude: number];
export type Ring = readonly Position[];
/** One polygon: the outline first, then its holes. */
export type AreaPolygon = readonly Ring[];

type Result<V> = ReturnType<Parser<V>>;
type Failure = { ok: false; reason: string; at?: string };

class AreaProblem extends Error {
  constructor(
    readonly at: string,
    reason: string,
  ) {
    super(reason);
  }
}

const GEOMETRIES = 'Polygon, MultiPolygon, Feature or FeatureCollection';

/** `scopes.geohash.areas`: a list of GeoJSON objects → the polygons they hold. */
export const parseGeoAreas: Parser<AreaPolygon[]> = (value, context): Result<AreaPolygon[]> => {
  if (!Array.isArray(value)) {
    return { ok: false, reason: `expected a list of GeoJSON objects (${GEOMETRIES}) or .geojson file paths, got ${describeValue(value)}` };
  }
  const polygons: AreaPolygon[] = [];
  try {
    (value as unknown[]).forEach((item, i) => {
      const at = `[${i}]`;
      polygons.push(...(typeof item === 'string' ? fileAreaPolygons(item, at, context) : areaPolygons(item, at)));
    });
  } catch (error) {
    if (!(error instanceof AreaProblem)) throw error;
    const failure: Failure = { ok: false, reason: error.message, at: error.at };
    return failure;
  }
  return { ok: true, value: polygons };
};

/**
 * An entry given as a file path: the file's GeoJSON → polygons. Every problem is reported at the entry
 * (`[1]`), naming the file as resolved and, for bad GeoJSON, where inside the file it is.
 */
function fileAreaPolygons(path: string, at: string, context: ParseContext | undefined): AreaPolygon[] {
  if (!/\.(geo)?json$/i.test(path.trim())) {
    const hint = /^[0-9b-hjkmnp-z]{1,12}$/.test(path.trim()) ? ' (geohash cells go in scopes.geohash.prefixes)' : '';
    throw new AreaProblem(
      at,
      `expected a GeoJSON object (${GEOMETRIES}) or the path of a .geojson or .json file, got ${describeValue(path)}${hint}`,
    );
  }
  const file = resolve(context?.directory ?? '.', path.trim());
  const from = isAbsolute(path.trim())
    ? ''
    : ` (a relative path is taken from the directory of ${context?.file ?? 'the working directory'})`;
  noteFileRead(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot be read (${code ?? String(error)})`;
    throw new AreaProblem(at, `GeoJSON file ${file} ${why}${from}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new AreaProblem(at, `GeoJSON file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return areaPolygons(json, '');
  } catch (error) {
    if (!(error instanceof AreaProblem)) throw error;
    const inside = error.at.replace(/^\./, '');
    throw new AreaProblem(at, `GeoJSON file ${file}: ${inside === '' ? '' : `${inside}: `}${error.message}`);
  }
}

function areaPolygons(item: unknown, at: string): AreaPolygon[] {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new AreaProblem(at, `expected a GeoJSON object (${GEOMETRIES}), got ${describeValue(item)}`);
  }
  const object = item as Record<string, unknown>;
  switch (object.type) {
    case 'Polygon':
      return [polygon(object.coordinates, `${at}.coordinates`)];
    case 'MultiPolygon':
      return list(object.coordinates, `${at}.coordinates`, 'a list of polygons').map((p, i) => polygon(p, `${at}.coordinates[${i}]`));
    case 'Feature':
      if (typeof object.geometry !== 'object' || object.geometry === null) {
        throw new AreaProblem(`${at}.geometry`, `expected a Polygon or MultiPolygon, got ${describeValue(object.geometry)}`);
      }
      return featureGeometry(object.geometry as Record<string, unknown>, `${at}.geometry`);
    case 'FeatureCollection':
      return list(object.features, `${at}.features`, 'a list of Features').flatMap((feature, i) => {
        const here = `${at}.features[${i}]`;
        if (typeof feature !== 'object' || feature === null || (feature as { type?: unknown }).type !== 'Feature') {
          throw new AreaProblem(here, `expected a Feature, got ${describeValue(feature)}`);
        }
        return areaPolygons(feature, here);
      });
    default:
      throw new AreaProblem(`${at}.type`, `expected ${GEOMETRIES}, got ${describeValue(object.type)}`);
  }
}

function featureGeometry(geometry: Record<string, unknown>, at: string): AreaPolygon[] {
  if (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon') {
    throw new AreaProblem(`${at}.type`, `expected Polygon or MultiPolygon, got ${describeValue(geometry.type)}`);
  }
  return areaPolygons(geometry, at);
}

function list(value: unknown, at: string, what: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw new AreaProblem(at, `expected ${what}, got ${describeValue(value)}`);
  return value as unknown[];
}

function polygon(value: unknown, at: string): AreaPolygon {
  return list(value, at, 'a list of rings (the outline, then holes)').map((ring, i) => closedRing(ring, `${at}[${i}]`));
}

function closedRing(value: unknown, at: string): Ring {
  const positions = list(value, at, 'a ring: a list of [longitude, latitude] positions').map((p, i) => position(p, `${at}[${i}]`));
  const first = positions[0]!;
  const last = positions[positions.length - 1]!;
  if (positions.length < 4 || first[0] !== last[0] || first[1] !== last[1]) {
    throw new AreaProblem(
      at,
      `a ring needs at least 4 positions and must end where it starts (GeoJSON linear ring), got ${positions.length} positions${positions.length >= 2 && (first[0] !== last[0] || first[1] !== last[1]) ? ' not closed' : ''}`,
    );
  }
  for (let i = 1; i < positions.length; i++) {
    if (Math.abs(positions[i]![0] - positions[i - 1]![0]) > 180) {
      throw new AreaProblem(
        `${at}[${i}]`,
        `the edge from longitude ${positions[i - 1]![0]} to ${positions[i]![0]} crosses the antimeridian, which is not supported: split the area at ±180° (RFC 7946 §3.1.9)`,
      );
    }
  }
  return positions;
}

function position(value: unknown, at: string): Position {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3 || !value.every((n) => typeof n === 'number' && Number.isFinite(n))) {
    throw new AreaProblem(at, `expected a position [longitude, latitude], got ${describeValue(value)}`);
  }
  const [longitude, latitude] = value as number[];
  if (longitude! < -180 || longitude! > 180)
    throw new AreaProblem(at, `longitude ${longitude} is outside -180..180 (positions are [longitude, latitude])`);
  if (latitude! < -90 || latitude! > 90)
    throw new AreaProblem(at, `latitude ${latitude} is outside -90..90 (positions are [longitude, latitude])`);
  return [longitude!, latitude!];
}
