// One test command for the whole repo: `npm test`. Real Docker, PostgreSQL, Deno and Chromium.
import { defineConfig } from 'vitest/config'

// The dashboard budget prints page-load and frame times from Chromium: it runs after everything else, alone,
// so the rest of the suite's load on a 2-core machine does not stand in for the dashboard's own cost.
const TIMED = ['test/ui/budget.test.ts']

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll gives up after 1 s by default: on a loaded 2-core machine a page or a hub can take
    // longer to show what a test waits for. Only how long a failing wait takes changes.
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: TIMED, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'timed', include: TIMED, sequence: { groupOrder: 1 } } },
    ],
  },
})
