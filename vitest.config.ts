import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['{server,client,shared,scripts,integration}/**/*.test.ts'],
    // Integration tests start real coordinators and train real models: give them room,
    // and run files one at a time on this 2-core machine so timings stay sane.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    allowOnly: false,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
})
