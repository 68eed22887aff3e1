import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Ends every run with the plain line CI reads: `N passed, N failed` (plus skipped).
 *
 * "failed" counts failed tests and every error that is not a test's own: a file that fails to load or
 * to collect, a beforeAll/afterAll that throws (file or describe level; vitest then reports the tests
 * it did not run as skipped), and unhandled errors. A failed run never ends with "0 failed".
 */
export default class SummaryLine implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) countModule(module, counts);
    counts.failed += unhandledErrors.length;
    if (reason !== 'passed' && counts.failed === 0) counts.failed = 1;
    const { passed, failed, skipped } = counts;
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}

function countModule(module: TestModule, counts: Counts): void {
  const failedBefore = counts.failed;
  for (const test of module.children.allTests()) {
    const state = test.result().state;
    if (state === 'passed') counts.passed++;
    else if (state === 'failed') counts.failed++;
    else counts.skipped++;
  }
  // A suite's or module's own errors: load and collection errors, beforeAll/afterAll failures.
  counts.failed += module.errors().length;
  for (const suite of module.children.allSuites()) counts.failed += suite.errors().length;
  if (module.state() === 'failed' && counts.failed === failedBefore) counts.failed++;
}
