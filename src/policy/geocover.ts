/**
 * Polygons → geohash cells (our own code; ngeohash only gives the cells' boxes). Starting from the 32
 * one-character cells, a cell whose box lies wholly inside the area is kept as it is (coarse), a cell
 * outside is dropped, and a cell the area's boundary crosses is split into its 32 children until the
 * precision is reached, where it is kept. So the cover contains the whole area and overshoots it only
 * along the boundary, by less than one cell of the given precision. Holes are respected; cells that only
 * touch the area along an edge or a corner are not part of it. Boxes and edges are in plain degrees.
 */
import ngeohash from 'ngeohash';
import type { AreaPolygon, Position } from './geoarea.js';

/** The 32 characters of geohash cells, in the order of their cells. */
export const GEOHASH_ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz';

/** [west, south, east, north] in degrees. */
type Box = readonly [number, number, number, number];
type Edge = readonly [Position, Position];

interface Shape {
  rings: readonly (readonly Position[])[];
  edges: readonly Edge[];
}

export class TooManyCells extends Error {}

/**
 * The geohash cells covering the polygons, down to `precision` characters, sorted; throws TooManyCells
 * as soon as more than `maxCells` would be needed.
 */
export function coverAreas(polygons: readonly AreaPolygon[], precision: number, maxCells: number): string[] {
  const shapes: Shape[] = polygons.map((rings) => ({ rings, edges: rings.flatMap(edgesOf) }));
  const cells: string[] = [];
  const visit = (cell: string, candidates: readonly { shape: Shape; edges: readonly Edge[] }[]): void => {
    const box = cellBox(cell);
    const crossing: { shape: Shape; edges: Edge[] }[] = [];
    for (const { shape, edges } of candidates) {
      const here = edges.filter((edge) => crossesInterior(edge, box));
      if (here.length > 0) crossing.push({ shape, edges: here });
      else if (contains(shape, [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])) return keep(cell);
    }
    if (crossing.length === 0) return;
    if (cell.length === precision) return keep(cell);
    for (const next of GEOHASH_ALPHABET) visit(cell + next, crossing);
  };
  const keep = (cell: string): void => {
    if (cells.length >= maxCells) throw new TooManyCells(`more than ${maxCells} cells`);
    cells.push(cell);
  };
  for (const first of GEOHASH_ALPHABET)
    visit(
      first,
      shapes.map((shape) => ({ shape, edges: shape.edges })),
    );
  return cells.sort();
}

function cellBox(cell: string): Box {
  const [south, west, north, east] = ngeohash.decode_bbox(cell);
  return [west!, south!, east!, north!];
}

function edgesOf(ring: readonly Position[]): Edge[] {
  const edges: Edge[] = [];
  for (let i = 1; i < ring.length; i++) edges.push([ring[i - 1]!, ring[i]!]);
  return edges;
}

/** Ray casting to the east: an odd number of crossings = inside (holes count as rings of their own). */
function contains(shape: Shape, [x, y]: Position): boolean {
  let inside = false;
  for (const [[x1, y1], [x2, y2]] of shape.edges) {
    if (y1 > y !== y2 > y && x < x1 + ((y - y1) * (x2 - x1)) / (y2 - y1)) inside = !inside;
  }
  return inside;
}

/**
 * Whether some point of the segment lies strictly inside the box: for each axis, the parameters t where
 * the segment is strictly between the box's sides form an open interval; the segment enters the
 * interior when those intervals and [0, 1] overlap in more than a point.
 */
function crossesInterior([[x1, y1], [x2, y2]]: Edge, [west, south, east, north]: Box): boolean {
  let low = 0;
  let high = 1;
  for (const [start, delta, min, max] of [
    [x1, x2 - x1, west, east],
    [y1, y2 - y1, south, north],
  ] as const) {
    if (delta === 0) {
      if (start <= min || start >= max) return false;
      continue;
    }
    const a = (min - start) / delta;
    const b = (max - start) / delta;
    low = Math.max(low, Math.min(a, b));
    high = Math.min(high, Math.max(a, b));
  }
  return low < high;
}
