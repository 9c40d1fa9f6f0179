// `npm run test:e2e`: real Chromium, as a phone, against a real coordinator (e2e/global-setup.ts)
// serving the built app (`npm run build:client`; `npm test` builds it first).
import { defineConfig, devices } from '@playwright/test'
import { chromiumLaunch, e2eEnvironment } from './e2e/environment.ts'

const { url } = await e2eEnvironment()

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results',
  globalSetup: './e2e/global-setup.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  forbidOnly: true,
  retries: 0,
  // Each test has its own browser context (its own IndexedDB, caches and service worker);
  // two workers on this 2-core machine.
  workers: 2,
  reporter: [['list']],
  use: {
    ...devices['Pixel 5'],
    baseURL: url,
    screenshot: 'on',
    // Recording a trace costs ~15% of the suite here: `npm run test:e2e -- --trace on` when debugging.
    trace: 'off',
    launchOptions: chromiumLaunch(),
  },
  projects: [{ name: 'phone' }],
})
