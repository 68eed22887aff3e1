/**
 * GeoJSON areas (src/policy/geoarea.ts, geocover.ts): config problems named down to the position, the
 * cover of exact squares (coarse cells kept whole, neighbours that only touch left out), holes, the cap,
 * merging with prefixes, and the policy on points inside and outside.
 */
import ngeohash from 'ngeohash';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { NostrEvent } from '../../src/event/types.js';
import { relayInformation } from '../../src/nips/nip11.js';
import type { Position } from '../../src/policy/geoarea.js';
import { coverAreas } from '../../src/policy/geocover.js';
import { GEOHASH_ALPHABET, scopeCells } from '../../src/policy/geohash.js';
import { runPolicies } from '../../src/policy/pipeline.js';
import { writePolicies } from '../../src/policy/write.js';

/** The closed ring of a cell's box, as GeoJSON positions. */
function boxRing(cell: string, inset = 0): Position[] {
  const [s, w, n, e] = ngeohash.decode_bbox(cell) as [number, number, number, number];
  return [
    [w + inset, s + inset],
    [e - inset, s + inset],
    [e - inset, n - inset],
    [w + inset, n - inset],
    [w + inset, s + inset],
  ];
}

const yaml = (areas: unknown, extra = ''): string => `scopes:\n  geohash:\n    areas: ${JSON.stringify(areas)}\n${extra}`;

function problem(text: string): string {
  try {
    parseConfig(text, 'relay.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

const at = (lat: number, lon: number): NostrEvent => ({
  id: 'f'.repeat(64),
  pubkey: 'a'.repeat(64),
  created_at: 1_700_000_000,
  kind: 20000,
  tags: [['g', ngeohash.encode(lat, lon, 9)]],
  content: 'hej',
  sig: '0'.repeat(128),
});

describe('the cover of polygons by geohash cells', () => {
  it('a square that is exactly one cell gives that cell, whatever the precision below it', () => {
    expect(coverAreas([[boxRing('u3but')]], 6, 100)).toEqual(['u3but']);
    expect(coverAreas([[boxRing('u3but')]], 5, 100)).toEqual(['u3but']);
    expect(coverAreas([[boxRing('u3but')]], 3, 100)).toEqual(['u3b']);
  });

  it('a square just inside one cell: its 32 children at precision 6 (all on or inside the edge)', () => {
    const children = [...GEOHASH_ALPHABET].map((c) => `u3but${c}`);
    expect(coverAreas([[boxRing('u3but', 1e-9)]], 6, 100)).toEqual(children.sort());
  });

  it('a square two cells wide gives both cells, kept coarse', () => {
    const east = ngeohash.neighbor('u3but', [0, 1]);
    const [s, w] = ngeohash.decode_bbox('u3but') as number[];
    const [, , n, e] = ngeohash.decode_bbox(east) as number[];
    const ring: Position[] = [
      [w!, s!],
      [e!, s!],
      [e!, n!],
      [w!, n!],
      [w!, s!],
    ];
    expect(coverAreas([[ring]], 7, 100)).toEqual(['u3but', east].sort());
  });

  it('a hole is left out: the cell u3bu with u3but cut out is its 31 other children', () => {
    const cells = coverAreas([[boxRing('u3bu'), boxRing('u3but')]], 6, 100);
    expect(cells).toEqual(
      [...GEOHASH_ALPHABET]
        .map((c) => `u3bu${c}`)
        .filter((c) => c !== 'u3but')
        .sort(),
    );
  });

  it('stops past the cap', () => {
    expect(() => coverAreas([[boxRing('u3', 1e-6)]], 8, 500)).toThrow('more than 500 cells');
  });
});

describe('scopes.geohash.areas in the config', () => {
  const triangle = {
    type: 'Polygon',
    coordinates: [
      [
        [12.53, 55.65],
        [12.56, 55.65],
        [12.545, 55.675],
        [12.53, 55.65],
      ],
    ],
  };

  it('a Polygon, a Feature and a FeatureCollection give the same polygons; cells merge with prefixes', () => {
    const feature = { type: 'Feature', properties: { name: 'Vesterbro' }, geometry: triangle };
    const collection = { type: 'FeatureCollection', features: [feature] };
    const a = parseConfig(yaml([triangle]), 'x').scopes.geohash;
    for (const other of [[feature], [collection], [{ type: 'MultiPolygon', coordinates: [triangle.coordinates] }]]) {
      expect(parseConfig(yaml(other), 'x').scopes.geohash.areas).toEqual(a.areas);
    }
    const cells = scopeCells(a);
    expect(cells.length).toBeGreaterThan(1);
    expect(cells.every((cell) => cell.startsWith('u3bu') && cell.length <= 6)).toBe(true);
    // A prefix that contains cells of the area absorbs them; one elsewhere is kept.
    const merged = scopeCells(parseConfig(yaml([triangle], '    prefixes: [u3bu, u4pru]\n'), 'x').scopes.geohash);
    expect(merged).toEqual(['u3bu', 'u4pru']);
  });

  it('the policy: a point inside the area passes, one outside is refused naming the cells', () => {
    const config = parseConfig(yaml([triangle]), 'x');
    const pipeline = writePolicies(config);
    const ctx = { now: 1_700_000_000 };
    expect(runPolicies(pipeline, at(55.66, 12.545), ctx)).toBeUndefined();
    const outside = runPolicies(pipeline, at(55.676, 12.531), ctx);
    expect(outside?.prefix).toBe('blocked');
    expect(outside?.text).toMatch(
      /^this relay serves u3bu\w+, .* and \d+ more cells; the event's location \(g tags u3bu\w+\) is outside it$/,
    );
    expect(relayInformation(config).limitation).toMatchObject({ restricted_writes: true });
    // A very long g value is judged on its first 12 characters.
    const long = { ...at(55.66, 12.545), tags: [['g', `${ngeohash.encode(55.66, 12.545, 12)}${'0'.repeat(100_000)}`]] };
    expect(runPolicies(pipeline, long, ctx)).toBeUndefined();
  });

  it('problems name the key down to the position', () => {
    const open = {
      type: 'Polygon',
      coordinates: [
        [
          [12.5, 55.6],
          [12.6, 55.6],
          [12.6, 55.7],
          [12.5, 55.7],
        ],
      ],
    };
    expect(problem(yaml([open]))).toContain(
      'relay.yaml: scopes.geohash.areas[0].coordinates[0]: a ring needs at least 4 positions and must end where it starts',
    );
    const swapped = {
      type: 'Polygon',
      coordinates: [
        [
          [12.5, 55.6],
          [55.6, 12.6],
          [12.6, 95],
          [12.5, 55.6],
        ],
      ],
    };
    expect(problem(yaml([swapped]))).toContain('scopes.geohash.areas[0].coordinates[0][2]: latitude 95 is outside -90..90');
    const point = { type: 'Feature', geometry: { type: 'Point', coordinates: [12.5, 55.6] } };
    expect(problem(yaml([triangle, point]))).toContain(
      'scopes.geohash.areas[1].geometry.type: expected Polygon or MultiPolygon, got the string "Point"',
    );
    expect(
      problem(
        yaml([
          {
            type: 'Polygon',
            coordinates: [
              [
                [12.5, 55.6],
                ['x', 55.6],
              ],
            ],
          },
        ]),
      ),
    ).toContain('scopes.geohash.areas[0].coordinates[0][1]: expected a position [longitude, latitude]');
    expect(
      problem(
        yaml([{ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'MultiPolygon', coordinates: [[]] } }] }]),
      ),
    ).toContain('scopes.geohash.areas[0].features[0].geometry.coordinates[0]: expected a list of rings');
    expect(problem(yaml(['u4pru']))).toContain(
      'scopes.geohash.areas[0]: expected a GeoJSON object (Polygon, MultiPolygon, Feature or FeatureCollection) or the path of a .geojson or .json file, got the string "u4pru" (geohash cells go in scopes.geohash.prefixes)',
    );
    expect(problem(yaml({ type: 'Polygon' }))).toContain('scopes.geohash.areas: expected a list of GeoJSON objects');
    const fiji = {
      type: 'Polygon',
      coordinates: [
        [
          [179, -17],
          [-179, -17],
          [-179, -16],
          [179, -16],
          [179, -17],
        ],
      ],
    };
    expect(problem(yaml([fiji]))).toContain(
      'scopes.geohash.areas[0].coordinates[0][1]: the edge from longitude 179 to -179 crosses the antimeridian',
    );
    expect(problem(yaml([triangle], '    area_precision: 13\n'))).toContain('scopes.geohash.area_precision:');
  });

  it('too many cells is a config error naming scopes.geohash.areas', () => {
    const country = {
      type: 'Polygon',
      coordinates: [
        [
          [8, 54.5],
          [13, 54.5],
          [13, 57.7],
          [8, 54.5],
        ],
      ],
    };
    expect(problem(yaml([country], '    area_precision: 9\n'))).toMatch(
      /relay\.yaml: scopes\.geohash\.areas: the areas need more than 10000 geohash cells at scopes\.geohash\.area_precision 9/,
    );
    expect(parseConfig(yaml([country], '    area_precision: 4\n'), 'x').scopes.geohash.area_precision).toBe(4);
  });
});
