import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The suites run traces on real time (their longest sleeps are 35 s): they get their own files, run
    // side by side, each spreading its traces over several servers or drivers at once.
    globalSetup: ['test/global-setup.ts'],
    maxWorkers: 4,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
