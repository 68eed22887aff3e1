/**
 * The NIP registry (src/nips/registry.ts) is the single source of `supported_nips`. These tests tie it to
 * the files that back each claim: a NIP cannot be advertised without its modules, its end-to-end test
 * files, a row marked "implemented" in nips/README.md and a page nips/NN.md — and nips/README.md
 * cannot mark a NIP implemented that the relay does not advertise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { specFor } from '../../src/config/schema.js';
import { NIPS, supportedNips } from '../../src/nips/registry.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MATRIX_FILE = join(ROOT, 'nips', 'README.md');

interface MatrixRow {
  nip: number;
  status: string;
  /** The whole row as written, for "does the row mention this path" checks. */
  text: string;
}

/**
 * Rows of the NIP matrix in nips/README.md: the first table whose header starts with `| NIP | status |`.
 * A row counts when its first cell names a NIP (`NIP-01`, `[NIP-01](01.md)`); other rows (e.g. a
 * geohash scope that is not a NIP) are skipped.
 */
function parseMatrix(markdown: string): MatrixRow[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => /^\|\s*NIP\s*\|\s*status\s*\|/i.test(line));
  if (header === -1) throw new Error('nips/README.md has no table starting with "| NIP | status |"');
  const rows: MatrixRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.trim().startsWith('|')) break;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    const nip = /NIP-(\d+)/i.exec(cells[0] ?? '');
    if (nip === null) continue;
    rows.push({ nip: Number(nip[1]), status: (cells[1] ?? '').toLowerCase(), text: line });
  }
  return rows;
}

const matrix = parseMatrix(readFileSync(MATRIX_FILE, 'utf8'));
const implemented = matrix.filter((row) => row.status.startsWith('implemented'));

describe('NIP registry', () => {
  it('lists each NIP once, in ascending order', () => {
    const numbers = NIPS.map((entry) => entry.nip);
    expect(numbers).toEqual([...new Set(numbers)].sort((a, b) => a - b));
  });

  for (const entry of NIPS) {
    const name = `NIP-${String(entry.nip).padStart(2, '0')}`;

    it(`${name}: every module path exists`, () => {
      expect(entry.modules.length).toBeGreaterThan(0);
      const missing = entry.modules.filter((path) => !existsSync(join(ROOT, path)));
      expect(missing, `${name} lists modules that do not exist`).toEqual([]);
    });

    it(`${name}: advertisedWhen names real config keys, and a NIP without it is on by default`, () => {
      if (entry.advertisedWhen === undefined) {
        expect(entry.enabled(defaultConfig()), `${name} has no advertisedWhen, so it must always be on`).toBe(true);
        return;
      }
      const keys = [...entry.advertisedWhen.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
      expect(keys.length, `${name}: advertisedWhen names no config key in backticks`).toBeGreaterThan(0);
      expect(
        keys.filter((key) => specFor(key) === undefined),
        `${name}: advertisedWhen names unknown keys`,
      ).toEqual([]);
    });

    it(`${name}: every test file exists`, () => {
      expect(entry.tests.length).toBeGreaterThan(0);
      const missing = entry.tests.filter((path) => !existsSync(join(ROOT, path)));
      expect(missing, `${name} lists test files that do not exist`).toEqual([]);
    });
  }
});

describe('nips/README.md matrix', () => {
  it('has one row per NIP', () => {
    expect(matrix.length).toBeGreaterThan(0);
    const numbers = matrix.map((row) => row.nip);
    expect(numbers).toEqual([...new Set(numbers)]);
  });

  it('marks exactly the NIPs the default config advertises as implemented', () => {
    const documented = implemented.map((row) => row.nip).sort((a, b) => a - b);
    expect(documented).toEqual([...supportedNips(defaultConfig())].sort((a, b) => a - b));
  });

  it('every NIP in the registry has a row naming its modules and test files', () => {
    for (const entry of NIPS) {
      const row = matrix.find((r) => r.nip === entry.nip);
      expect(row, `nips/README.md has no row for NIP-${entry.nip}`).toBeDefined();
      const unnamed = [...entry.modules, ...entry.tests].filter((path) => !row!.text.includes(path));
      expect(unnamed, `the NIP-${entry.nip} row does not name these registry paths`).toEqual([]);
    }
  });

  it('every implemented NIP has its own page nips/NN.md', () => {
    const missing = implemented.map((row) => `nips/${String(row.nip).padStart(2, '0')}.md`).filter((path) => !existsSync(join(ROOT, path)));
    expect(missing).toEqual([]);
  });

  it('every relative link in the matrix points to an existing file', () => {
    const broken: string[] = [];
    for (const row of matrix) {
      for (const [, target] of row.text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue;
        if (!existsSync(join(ROOT, 'nips', target!))) broken.push(target!);
      }
    }
    expect(broken).toEqual([]);
  });
});
