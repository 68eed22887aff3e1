/**
 * The NIP table of README.md, generated from src/nips/registry.ts and kept between two marker comments.
 * `npm run docs:nips` rewrites it; test/unit/readme.test.ts fails when README.md's table differs.
 *
 * It lives beside the tests rather than as a hidden subcommand in src/cli/: it edits the repository's
 * README.md, which an installed relay (dist/, the Docker image) does not have, and the test that guards
 * the table imports the same function.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultConfig } from '../../src/config/load.js';
import { NIPS } from '../../src/nips/registry.js';
import { REPO_ROOT } from './cli.js';

export const README_FILE = join(REPO_ROOT, 'README.md');
const BEGIN = '<!-- nips:begin (generated from src/nips/registry.ts by `npm run docs:nips`; edit the registry, not this table) -->';
const END = '<!-- nips:end -->';

/** One row per registry entry: the NIP (linked to its page in nips/), its title, and when it is advertised. */
export function nipTable(): string {
  const defaults = defaultConfig();
  const rows = NIPS.map((entry) => {
    const number = String(entry.nip).padStart(2, '0');
    const page = `nips/${number}.md`;
    const name = existsSync(join(REPO_ROOT, page)) ? `[NIP-${number}](${page})` : `NIP-${number}`;
    const advertised =
      entry.advertisedWhen === undefined ? 'always' : `when ${entry.advertisedWhen} (${entry.enabled(defaults) ? 'on' : 'off'} by default)`;
    return `| ${name} | ${entry.title} | ${advertised} |`;
  });
  return ['| NIP | | in `supported_nips` |', '|---|---|---|', ...rows].join('\n');
}

/** The text between the NIP table's markers in `markdown`, without the markers. */
export function currentNipTable(markdown: string): string {
  const { start, end } = markers(markdown);
  return markdown.slice(start + BEGIN.length, end).trim();
}

/** `markdown` with the text between the NIP table's markers replaced by `table`. */
export function withNipTable(markdown: string, table: string = nipTable()): string {
  const { start, end } = markers(markdown);
  return `${markdown.slice(0, start + BEGIN.length)}\n${table}\n${markdown.slice(end)}`;
}

function markers(markdown: string): { start: number; end: number } {
  const start = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END, start);
  if (start === -1 || end === -1) throw new Error(`README.md needs the lines\n${BEGIN}\n${END}\naround the NIP table`);
  return { start, end };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const before = readFileSync(README_FILE, 'utf8');
  const after = withNipTable(before);
  if (after === before) {
    process.stdout.write('README.md: the NIP table is up to date\n');
  } else {
    writeFileSync(README_FILE, after);
    process.stdout.write('README.md: NIP table rewritten from src/nips/registry.ts\n');
  }
}
