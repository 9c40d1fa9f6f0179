import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
import { chromiumLaunch } from './e2e/environment.ts'

/** The phone app's storage tests run in Chromium, on its real IndexedDB. */
const IN_THE_BROWSER = [
  'client/ui/**/*.test.ts',
  'client/app/storage/**/*.test.ts',
  'client/app/tasks/**/*.test.ts',
  'client/app/privacy/**/*.test.ts',
  'client/app/contribute/checkpoints.test.ts',
  'client/app/data/demo.test.ts',
  'client/app/data/import.test.ts',
  'client/dashboard/datasets.test.ts',
]

export default defineConfig({
  test: {
    // Integration tests start real coordinators and train real models: give them room,
    // and run files one at a time on this 2-core machine so timings stay sane.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    allowOnly: false,
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['{server,client,shared,data,scripts,integration,bench}/**/*.test.ts'],
          exclude: IN_THE_BROWSER,
        },
      },
      {
        extends: true,
        // The privacy ledger's tests drive the contribute loop, whose runtime brings zod: bundled
        // up front, so Vite does not discover it mid-run and reload the page under a test.
        optimizeDeps: { include: ['zod'] },
        test: {
          name: 'chromium',
          include: IN_THE_BROWSER,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: chromiumLaunch(),
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
})
