/**
 * The closing `N passed, N failed` line must count every way a run can fail, not only failed tests:
 * hooks, files that fail to load or collect, unhandled errors. Each case runs vitest as a child process
 * on one fixture file (test/reporters/fixtures/, outside the suite's include pattern).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

interface FixtureRun {
  code: number | null;
  /** The reporter's closing line, e.g. `1 passed, 1 failed`. */
  summary: string | undefined;
  output: string;
}

function runFixture(name: string): Promise<FixtureRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  // The outer run's worker variables would make the child believe it is a vitest worker.
  for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key];
  const child = spawn(
    process.execPath,
    ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/reporters/fixtures/vitest.config.ts', `fixtures/${name}.fixture.ts`],
    { cwd: REPO_ROOT, env },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const summary = output
        .split('\n')
        .filter((line) => /^\d+ passed, \d+ failed/.test(line))
        .at(-1);
      resolve({ code, summary, output });
    });
  });
}

describe.concurrent('the closing summary line', () => {
  const cases: [fixture: string, summary: string][] = [
    ['passing', '1 passed, 0 failed, 2 skipped'],
    ['file-before-all-throws', '0 passed, 1 failed, 2 skipped'],
    ['suite-before-all-throws', '1 passed, 1 failed, 1 skipped'],
    ['file-after-all-throws', '1 passed, 1 failed'],
    ['suite-after-all-throws', '1 passed, 1 failed'],
    ['file-before-each-throws', '0 passed, 1 failed'],
    ['suite-after-each-throws', '0 passed, 1 failed'],
    ['import-fails', '0 passed, 1 failed'],
    ['collection-fails', '0 passed, 1 failed'],
    ['unhandled-rejection', '1 passed, 1 failed'],
    // No file matches: vitest fails the run without a single test or error to count.
    ['no-such-file', '0 passed, 1 failed'],
  ];
  for (const [fixture, summary] of cases) {
    it(`${fixture}: "${summary}", and vitest exits ${summary.includes(' 0 failed') ? '0' : 'non-zero'}`, async () => {
      const run = await runFixture(fixture);
      expect(run.summary, run.output).toBe(summary);
      if (summary.includes(' 0 failed')) expect(run.code, run.output).toBe(0);
      else expect(run.code, run.output).toBe(1);
    }, 60_000);
  }
});
