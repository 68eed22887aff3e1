/**
 * scopes.geohash.areas entries given as GeoJSON file paths (src/policy/geoarea.ts): found from the
 * directory of the config file (not the working directory), read again on every load so a reload sees a
 * new content, and every problem named by config file, entry and GeoJSON file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { planReload } from '../../src/config/reload.js';
import { scopeCells } from '../../src/policy/geohash.js';

const dir = mkdtempSync(join(tmpdir(), 'commons-geofile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'areas'));

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
const square = {
  type: 'Polygon',
  coordinates: [
    [
      [10.5, 57.7],
      [10.6, 57.7],
      [10.6, 57.75],
      [10.5, 57.75],
      [10.5, 57.7],
    ],
  ],
};
const feature = (geometry: object) => ({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry }] });

/** Writes `relay.yaml` in `dir` with the given areas (YAML flow list) and loads it. */
function load(areas: string, extra = ''): ReturnType<typeof loadConfig> {
  writeFileSync(join(dir, 'relay.yaml'), `scopes:\n  geohash:\n    areas: ${areas}\n${extra}`);
  return loadConfig(join(dir, 'relay.yaml'), undefined, {});
}

function problem(areas: string, extra = ''): string {
  try {
    load(areas, extra);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('scopes.geohash.areas: GeoJSON files', () => {
  it("a relative path is found from the config file's directory; a file gives the same polygons as inline", () => {
    writeFileSync(join(dir, 'areas', 'vesterbro.geojson'), JSON.stringify(feature(triangle)));
    const fromFile = load('[areas/vesterbro.geojson]').scopes.geohash;
    const inline = parseConfig(`scopes:\n  geohash:\n    areas: [${JSON.stringify(triangle)}]\n`, 'x').scopes.geohash;
    expect(fromFile.areas).toEqual(inline.areas);
    expect(scopeCells(fromFile)).toEqual(scopeCells(inline));
    // An absolute path, a .json file, next to an inline entry.
    writeFileSync(join(dir, 'skagen.json'), `\uFEFF${JSON.stringify(square)}`);
    const both = load(`[${join(dir, 'skagen.json')}, ${JSON.stringify(triangle)}]`).scopes.geohash;
    expect(both.areas).toEqual([
      ...parseConfig(`scopes: { geohash: { areas: [${JSON.stringify(square)}] } }`, 'x').scopes.geohash.areas,
      ...inline.areas,
    ]);
  });

  it('parseConfig resolves from the directory of the file name it is given', () => {
    writeFileSync(join(dir, 'areas', 'vesterbro.geojson'), JSON.stringify(triangle));
    const config = parseConfig('scopes: { geohash: { areas: [areas/vesterbro.geojson] } }', join(dir, 'other.yaml'));
    expect(config.scopes.geohash.areas).toHaveLength(1);
  });

  it('is read again on every load: a reload plan applies a changed file, and nothing when it is unchanged', () => {
    writeFileSync(join(dir, 'areas', 'place.geojson'), JSON.stringify(triangle));
    const before = load('[areas/place.geojson]');
    expect(planReload(before, load('[areas/place.geojson]')).applied).toEqual([]);
    writeFileSync(join(dir, 'areas', 'place.geojson'), JSON.stringify(square));
    const after = load('[areas/place.geojson]');
    expect(planReload(before, after).applied).toEqual(['scopes.geohash.areas']);
    expect(scopeCells(after.scopes.geohash).every((cell) => cell.startsWith('u4'))).toBe(true);
  });

  it('problems name the config file, the entry and the GeoJSON file', () => {
    const yaml = join(dir, 'relay.yaml');
    writeFileSync(join(dir, 'areas', 'ok.geojson'), JSON.stringify(triangle));
    expect(problem('[areas/ok.geojson, areas/missing.geojson]')).toBe(
      `${yaml}: scopes.geohash.areas[1]: GeoJSON file ${join(dir, 'areas', 'missing.geojson')} not found (a relative path is taken from the directory of ${yaml})`,
    );
    expect(problem('[/nowhere/at/all.geojson]')).toBe(`${yaml}: scopes.geohash.areas[0]: GeoJSON file /nowhere/at/all.geojson not found`);
    mkdirSync(join(dir, 'folder.geojson'), { recursive: true });
    expect(problem('[folder.geojson]')).toContain(
      `scopes.geohash.areas[0]: GeoJSON file ${join(dir, 'folder.geojson')} is a directory, not a file`,
    );
    writeFileSync(join(dir, 'areas', 'broken.geojson'), '{"type": "Polygon", ');
    expect(problem('[areas/broken.geojson]')).toMatch(
      new RegExp(`^${yaml}: scopes\\.geohash\\.areas\\[0\\]: GeoJSON file ${join(dir, 'areas', 'broken.geojson')} is not valid JSON: `),
    );
    writeFileSync(join(dir, 'areas', 'point.geojson'), JSON.stringify(feature({ type: 'Point', coordinates: [12.5, 55.6] })));
    expect(problem('[areas/point.geojson]')).toBe(
      `${yaml}: scopes.geohash.areas[0]: GeoJSON file ${join(dir, 'areas', 'point.geojson')}: features[0].geometry.type: expected Polygon or MultiPolygon, got the string "Point"`,
    );
    writeFileSync(join(dir, 'areas', 'list.json'), '[1, 2]');
    expect(problem('[areas/list.json]')).toContain(
      `scopes.geohash.areas[0]: GeoJSON file ${join(dir, 'areas', 'list.json')}: expected a GeoJSON object`,
    );
    expect(problem('[areas/vesterbro.kml]')).toContain(
      'scopes.geohash.areas[0]: expected a GeoJSON object (Polygon, MultiPolygon, Feature or FeatureCollection) or the path of a .geojson or .json file, got the string "areas/vesterbro.kml"',
    );
  });

  it("a host block's file is found from the same directory and its problems carry hosts[i].", () => {
    writeFileSync(join(dir, 'areas', 'ok.geojson'), JSON.stringify(triangle));
    const hosts = (path: string) =>
      `\nhosts:\n  - names: [a.example]\n    storage: { path: ${join(dir, 'a.sqlite')} }\n    scopes: { geohash: { areas: [${path}] } }\n`;
    expect(load('[]', hosts('areas/ok.geojson')).hosts[0]!.config.scopes.geohash.areas).toHaveLength(1);
    expect(problem('[]', hosts('areas/gone.geojson'))).toContain(
      `hosts[0].scopes.geohash.areas[0]: GeoJSON file ${join(dir, 'areas', 'gone.geojson')} not found`,
    );
  });
});
