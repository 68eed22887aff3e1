/**
 * The page's static files, served by the relay itself (no CDN): its module script, style sheet and
 * favicon from ./static/ (copied next to the compiled code by `npm run build`), and uPlot's script (which defines the global uPlot)
 * and style sheet from node_modules, found the way Node resolves packages. Each is read once and served
 * under a name that carries a hash of its content, so browsers may keep it for a year.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  /** The path it is served at: /assets/<name>.<hash>.<ext>. */
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

/** The files the page uses, by the name the HTML refers to them with. */
export interface PageAssets {
  readonly script: Asset;
  readonly style: Asset;
  readonly favicon: Asset;
  readonly chart: Asset;
  readonly chartStyle: Asset;
  /** The asset served at `path`, if any. */
  byPath(path: string): Asset | undefined;
}

export const ASSET_PREFIX = '/assets/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function asset(file: string, name: string): Asset {
  const body = readFileSync(file, 'utf8');
  const extension = extname(name);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { path: `${ASSET_PREFIX}${name.slice(0, -extension.length)}.${hash}${extension}`, contentType: CONTENT_TYPES[extension]!, body };
}

let loaded: PageAssets | undefined;

/** The assets, read on first use and kept for the life of the process. */
export function pageAssets(): PageAssets {
  if (loaded) return loaded;
  const own = (name: string): Asset => asset(fileURLToPath(new URL(`./static/${name}`, import.meta.url)), name);
  const require = createRequire(import.meta.url);
  const all = {
    script: own('page.js'),
    style: own('page.css'),
    favicon: own('favicon.svg'),
    chart: asset(require.resolve('uplot/dist/uPlot.iife.min.js'), 'uplot.js'),
    chartStyle: asset(require.resolve('uplot/dist/uPlot.min.css'), 'uplot.css'),
  };
  const byPath = new Map(Object.values(all).map((entry) => [entry.path, entry]));
  loaded = { ...all, byPath: (path) => byPath.get(path) };
  return loaded;
}
