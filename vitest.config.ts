import { defineConfig } from 'vitest/config';

// Forks, not threads: bundling workflow code inside a worker thread crashes the process (exit 139).
// Every test process logs the Temporal SDK in the project's format (tests/support/quiet-logs.ts).
const setupFiles = ['tests/support/quiet-logs.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    // Logs of passing tests stay out of the results; a failing test's logs are shown in full.
    silent: 'passed-only',
    projects: [
      { test: { name: 'unit', include: ['tests/unit/**/*.test.ts', 'tests/activities/**/*.test.ts', 'tests/seller/**/*.test.ts', 'tests/artifacts/**/*.test.ts', 'tests/scan/**/*.test.ts'], pool: 'forks', setupFiles, testTimeout: 30_000, hookTimeout: 60_000 } },
      // Time skipping is global to one test server, so each file gets its own, and files run one at a time.
      { test: { name: 'workflows', include: ['tests/workflows/**/*.test.ts'], pool: 'forks', setupFiles, fileParallelism: false, testTimeout: 120_000, hookTimeout: 120_000 } },
      { test: { name: 'integration', include: ['tests/integration/**/*.test.ts'], pool: 'forks', setupFiles, fileParallelism: false, testTimeout: 120_000, hookTimeout: 180_000 } },
      // The whole cluster under faults; scripts/test.sh runs it alone, after the others (it wants both cores).
      // Its report goes to stdout directly, so the CI log shows it when the test passes too.
      { test: { name: 'cluster', include: ['tests/cluster/**/*.test.ts'], pool: 'forks', setupFiles, fileParallelism: false, testTimeout: 45 * 60_000, hookTimeout: 30 * 60_000 } },
      // The system as a user runs it (make start) and the README's walkthroughs against it.
      { test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], pool: 'forks', setupFiles, fileParallelism: false, testTimeout: 240_000, hookTimeout: 240_000 } },
    ],
  },
});
