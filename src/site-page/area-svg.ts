/**
 * The geohash area a relay serves, drawn as an inline SVG: its cells filled, over the faint grid of the
 * 32 cells of the smallest cell that holds them all (so a person sees where the area lies in the larger
 * cell they may know), with a scale bar. No map tiles: nothing is fetched from elsewhere.
 */
import ngeohash from 'ngeohash';
import { GEOHASH_ALPHABET } from '../policy/geohash.js';

/** [south, west, north, east] in degrees. */
type Box = readonly [number, number, number, number];

const WORLD: Box = [-90, -180, 90, 180];
const WIDTH = 640;
/** Cells drawn at most; a larger cover is summarised in the caption. */
const MAX_DRAWN = 2000;
const KM_PER_DEGREE = 111.32;
/** The smallest side a cell is drawn with, in viewBox units. */
const MIN_SIDE = 4;

/** The longer side of the drawing on the page, in CSS pixels (smaller screens shrink it to their width). */
const SHOWN = 560;

/** width and height attributes: the longer side SHOWN, the viewBox's proportions kept. */
function shownSize(height: number): string {
  const scale = SHOWN / Math.max(WIDTH, height);
  return `width="${Math.round(WIDTH * scale)}" height="${Math.round(height * scale)}"`;
}

const boxOf = (cell: string): Box => (cell === '' ? WORLD : (ngeohash.decode_bbox(cell) as unknown as Box));

function commonPrefix(cells: readonly string[]): string {
  let prefix = cells[0] ?? '';
  for (const cell of cells) while (!cell.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

const round = (value: number): string => String(Math.round(value * 10) / 10);

/** The area's extent in words: "55.635–55.679 N, 12.524–12.568 E, about 4.9 km by 2.8 km". */
export function extentInWords(cells: readonly string[]): string {
  const boxes = cells.map(boxOf);
  const south = Math.min(...boxes.map((b) => b[0]));
  const west = Math.min(...boxes.map((b) => b[1]));
  const north = Math.max(...boxes.map((b) => b[2]));
  const east = Math.max(...boxes.map((b) => b[3]));
  const lat = (value: number): string => `${Math.abs(value).toFixed(3)}${value < 0 ? ' S' : ' N'}`;
  const lon = (value: number): string => `${Math.abs(value).toFixed(3)}${value < 0 ? ' W' : ' E'}`;
  const tall = (north - south) * KM_PER_DEGREE;
  const wide = (east - west) * KM_PER_DEGREE * Math.cos((((north + south) / 2) * Math.PI) / 180);
  const km = (value: number): string => (value >= 10 ? String(Math.round(value)) : value.toFixed(1));
  return `${lat(south)} to ${lat(north)}, ${lon(west)} to ${lon(east)}: about ${km(tall)} km north to south and ${km(wide)} km east to west`;
}

/** A round length for the scale bar, about a quarter of `km`. */
function scaleLength(km: number): number {
  const target = km / 4;
  const power = 10 ** Math.floor(Math.log10(target));
  return [5, 2, 1].map((step) => step * power).find((length) => length <= target) ?? power;
}

/** The SVG markup; `titleId` names its title for aria-labelledby. */
export function areaSvg(cells: readonly string[], titleId: string): string {
  let context = commonPrefix(cells);
  if (cells.length === 1) context = context.slice(0, -1);
  const [south, west, north, east] = boxOf(context);
  const xScale = Math.cos((((north + south) / 2) * Math.PI) / 180);
  const k = WIDTH / ((east - west) * xScale);
  const height = Math.round((north - south) * k);
  const x = (lon: number): number => (lon - west) * xScale * k;
  const y = (lat: number): number => (north - lat) * k;
  /** A cell's rectangle, at least MIN_SIDE wide and high so that a small cell on a large map shows. */
  const rect = (cell: string, cls: string): string => {
    const [s, w, n, e] = boxOf(cell);
    const width = Math.max(MIN_SIDE, x(e) - x(w));
    const tall = Math.max(MIN_SIDE, y(s) - y(n));
    const left = (x(w) + x(e) - width) / 2;
    const top = (y(n) + y(s) - tall) / 2;
    return `<rect class="${cls}" x="${round(left)}" y="${round(top)}" width="${round(width)}" height="${round(tall)}"/>`;
  };
  const label = (cell: string, cls: string, text: string): string => {
    const [s, w, n, e] = boxOf(cell);
    const size = Math.min(18, (x(e) - x(w)) / (text.length * 0.65), (y(s) - y(n)) / 2);
    if (size < 7) return '';
    return `<text class="${cls}" x="${round((x(w) + x(e)) / 2)}" y="${round((y(n) + y(s)) / 2 + size / 3)}" font-size="${round(size)}" text-anchor="middle">${text}</text>`;
  };
  const grid = [...GEOHASH_ALPHABET].map((c) => context + c);
  const drawn = cells.slice(0, MAX_DRAWN);
  const widthKm = (east - west) * xScale * KM_PER_DEGREE;
  const bar = scaleLength(widthKm);
  const barPx = (bar / widthKm) * WIDTH;
  const title = `The area this relay serves: geohash ${cells.length === 1 ? 'cell' : 'cells'} ${drawn.slice(0, 20).join(', ')}${cells.length > 20 ? ', …' : ''}, inside ${context === '' ? 'the world map' : `cell ${context}`}`;
  return [
    `<svg class="area" viewBox="0 0 ${WIDTH} ${height}" ${shownSize(height)} role="img" aria-labelledby="${titleId}">`,
    `<title id="${titleId}">${title}</title>`,
    ...grid.map((cell) => rect(cell, 'area-grid')),
    ...drawn.map((cell) => rect(cell, 'area-cell')),
    ...grid.filter((cell) => !drawn.some((inside) => inside.startsWith(cell))).map((cell) => label(cell, 'area-grid-label', cell)),
    ...(drawn.length <= 64 ? drawn.map((cell) => label(cell, 'area-cell-label', cell)) : []),
    `<g class="area-scale"><rect x="12" y="${height - 22}" width="${round(barPx)}" height="6"/>`,
    `<text x="12" y="${height - 28}" font-size="14">${bar >= 1 ? bar : bar * 1000} ${bar >= 1 ? 'km' : 'm'}</text></g>`,
    `<text class="area-north" x="${WIDTH - 14}" y="22" font-size="14" text-anchor="end">N ↑</text>`,
    '</svg>',
  ].join('');
}
