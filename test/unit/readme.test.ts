/**
 * README.md's parts that follow the code: the NIP table (generated from src/nips/registry.ts by
 * `npm run docs:nips`) and the map of src/ under "Development" (written by hand, one line per folder).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { README_FILE, currentNipTable, nipTable } from '../helpers/readme.js';

const readme = readFileSync(README_FILE, 'utf8');
const SRC = join(REPO_ROOT, 'src');

/** Folders under src/ at any depth, as `store/` or `store/inner/`. */
function foldersUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => [`${prefix}${entry.name}/`, ...foldersUnder(join(dir, entry.name), `${prefix}${entry.name}/`)]);
}

/** The lines of the fenced block under "## Development" that starts with `src/`: name → description. */
function sourceMap(markdown: string): Map<string, string> {
  const section = markdown.slice(markdown.indexOf('\n## Development\n'));
  const lines = section.split('\n');
  const first = lines.indexOf('src/');
  if (first === -1 || lines[first - 1] !== '```') throw new Error('README.md "Development" has no fenced block starting with "src/"');
  const map = new Map<string, string>();
  for (const line of lines.slice(first + 1)) {
    if (line === '```') break;
    const match = /^ {2}(\S+)\s+(\S.*)$/.exec(line);
    if (match === null) throw new Error(`README.md source map: line is not "  name  description": ${JSON.stringify(line)}`);
    map.set(match[1]!, match[2]!);
  }
  return map;
}

describe('README.md NIP table', () => {
  it('is what src/nips/registry.ts generates (run `npm run docs:nips` after changing the registry)', () => {
    expect(currentNipTable(readme)).toBe(nipTable());
  });
});

describe('README.md map of src/', () => {
  const map = sourceMap(readme);
  const listedFolders = [...map.keys()].filter((name) => name.endsWith('/'));
  const listedFiles = [...map.keys()].filter((name) => !name.endsWith('/'));

  it('lists every folder under src/', () => {
    const missing = foldersUnder(SRC).filter((folder) => !map.has(folder));
    expect(missing, 'folders of src/ missing from the README map').toEqual([]);
  });

  it('lists only folders that exist', () => {
    const folders = new Set(foldersUnder(SRC));
    expect(
      listedFolders.filter((folder) => !folders.has(folder)),
      'README map lines naming no folder of src/',
    ).toEqual([]);
  });

  it('lists exactly the files at the top of src/', () => {
    const files = readdirSync(SRC, { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
    expect([...listedFiles].sort()).toEqual(files.sort());
  });
});
