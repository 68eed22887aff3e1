import { defineConfig } from 'vitest/config';
import SummaryLine from './test/reporters/summary-line.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', new SummaryLine()],
  },
});
