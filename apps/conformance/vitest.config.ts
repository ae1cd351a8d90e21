import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The suites run traces on real time (their longest sleeps are 35 s): they get their own files, run
    // side by side, each spreading its traces over several servers or drivers at once.
    globalSetup: ['test/global-setup.ts'],
    maxWorkers: 4,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // On two cores, the Socket.IO runs of both suites start once the WebSocket ones are done, so that no
    // trace's timing margin (going-away's is 50 ms) is eaten by a starved event loop.
    projects: [
      {
        extends: true,
        test: {
          name: 'ws',
          include: ['test/**/*.test.ts'],
          exclude: ['test/socket-io.test.ts', 'test/nats.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'socket.io', include: ['test/socket-io.test.ts'], sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'nats', include: ['test/nats.test.ts'], sequence: { groupOrder: 2 } },
      },
    ],
  },
})
