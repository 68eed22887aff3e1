import { defineConfig } from 'vitest/config';
import SummaryLine from './test/reporters/summary-line.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // .ci/run's Node 24 copy of the repository (git-ignored) is tested there, by its own vitest.
    exclude: ['**/node_modules/**', '.node24/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', new SummaryLine()],
  },
});
