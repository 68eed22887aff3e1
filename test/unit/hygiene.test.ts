/**
 * Things written once: the 64-hex pattern (src/event/validate.ts, HEX64) and the unix-seconds clock
 * (src/event/clock.ts, unixNow) — a second copy drifts. And no comment or page cites an issue number,
 * which a reader of the repository cannot open: say the reason instead. LICENSE matches package.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

function filesUnder(dir: string, extensions: readonly string[]): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name.startsWith('.') ? [] : filesUnder(path, extensions);
    return extensions.some((extension) => entry.name.endsWith(extension)) ? [path] : [];
  });
}

/** `file:line` of every line of `files` matching `pattern`. */
function linesMatching(files: readonly string[], pattern: RegExp): string[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (pattern.test(line) ? [`${relative(REPO_ROOT, file)}:${i + 1}`] : [])),
  );
}

const fileOf = (hit: string): string => hit.slice(0, hit.lastIndexOf(':'));
const sources = filesUnder(join(REPO_ROOT, 'src'), ['.ts']);

describe('written once in src/', () => {
  it('the 64-hex pattern: src/event/validate.ts exports HEX64', () => {
    expect(linesMatching(sources, /\{64\}/).map(fileOf)).toEqual(['src/event/validate.ts']);
  });

  it('the unix-seconds clock: src/event/clock.ts exports unixNow', () => {
    expect(linesMatching(sources, /Date\.now\(\)\s*\/\s*1000/).map(fileOf)).toEqual(['src/event/clock.ts']);
  });
});

describe('license', () => {
  it('LICENSE holds the license package.json names', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the commons contributors\n/);
  });
});

describe('references a reader can follow', () => {
  it('no comment or page cites an issue number', () => {
    const files = [
      ...['src', 'test', 'bench', 'config', 'nips'].flatMap((dir) => filesUnder(join(REPO_ROOT, dir), ['.ts', '.md', '.yaml'])),
      join(REPO_ROOT, 'README.md'),
    ];
    expect(linesMatching(files, /\bissues? #?\d/i)).toEqual([]);
  });
});
