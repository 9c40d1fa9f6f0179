// The app as a PWA: it opens offline after one visit, keeps its data there, meets Chromium's
// installability criteria, and recovers from a damaged file in the service worker's cache.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devices, expect, test } from '@playwright/test'
import {
  loadDemo,
  openApp,
  screenshot,
  shownCounts,
  storedLabels,
  waitForServiceWorker,
  waitUntilReady,
} from './app.ts'
import { chromiumLaunch } from './environment.ts'

test('after one visit the app opens offline with the stored counts, and loads demo data from the cache', async ({
  page,
  context,
}) => {
  await openApp(page)
  await waitForServiceWorker(page)
  await loadDemo(page, 'iid')
  const before = await shownCounts(page)

  await context.setOffline(true)
  await page.reload()
  await waitUntilReady(page)
  await expect(page.getByText('Offline', { exact: true })).toBeVisible()
  expect(await shownCounts(page)).toEqual(before)
  // Still cross-origin isolated: the cached responses kept the coordinator's headers.
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true)
  await screenshot(page, '08-offline')

  // A new tab, offline from the start.
  const cold = await context.newPage()
  await cold.goto('/')
  await waitUntilReady(cold)
  expect(await shownCounts(cold)).toEqual(before)
  await cold.close()

  // The demo file is cached (CacheFirst) since the first load: it loads offline too.
  await loadDemo(page, 'two-digits')
  const present = (await shownCounts(page)).perLabel.filter((n) => n > 0)
  expect(present.length).toBeLessThanOrEqual(2)

  await context.setOffline(false)
  await page.reload()
  await waitUntilReady(page)
  await expect(page.getByText('Offline', { exact: true })).toBeHidden()
})

test('installable: the manifest and service worker meet Chromium’s criteria', async ({
  playwright,
  baseURL,
  request,
}) => {
  // Playwright's usual contexts are off the record, which Chromium never offers to install
  // from ("in-incognito"): use a real profile, as a phone's browser has.
  const profile = await mkdtemp(join(tmpdir(), 'pollen-e2e-profile-'))
  const context = await playwright.chromium.launchPersistentContext(profile, {
    ...devices['Pixel 5'],
    ...(baseURL && { baseURL }),
    ...chromiumLaunch(),
  })
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    await openApp(page)
    await waitForServiceWorker(page)
    const cdp = await context.newCDPSession(page)
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors')
    expect(installabilityErrors).toEqual([])

    const { errors, data } = await cdp.send('Page.getAppManifest')
    expect(errors).toEqual([])
    const manifest = JSON.parse(data ?? '{}') as {
      name: string
      short_name: string
      display: string
      start_url: string
      scope: string
      theme_color: string
      icons: { src: string; sizes: string; type: string; purpose?: string }[]
    }
    expect(manifest).toMatchObject({
      name: 'Pollen',
      short_name: 'Pollen',
      display: 'standalone',
      start_url: '/',
      scope: '/',
    })
    expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/)
    expect(manifest.icons.map((i) => i.sizes)).toEqual(
      expect.arrayContaining(['192x192', '512x512']),
    )
    expect(manifest.icons.some((i) => i.purpose === 'maskable')).toBe(true)

    // The icons are real PNGs of the size they claim.
    for (const icon of manifest.icons) {
      const response = await request.get(icon.src)
      expect(response.headers()['content-type']).toBe('image/png')
      const png = await response.body()
      expect(png.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]))
      const [w, h] = icon.sizes.split('x').map(Number)
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([w, h])
    }
  } finally {
    await context.close()
    await rm(profile, { recursive: true, force: true })
  }
})

test('a damaged copy in the service worker cache: a clear error, evicted, and a retry works', async ({
  page,
}) => {
  await openApp(page)
  await waitForServiceWorker(page)
  await loadDemo(page, 'iid')
  const before = await shownCounts(page)

  // As if the cached file had been cut short: CacheFirst would serve it for ever.
  await page.evaluate(async () => {
    const cache = await caches.open('pollen-data')
    await cache.put('/data/mnist.bin', new Response(new Uint8Array(4096).fill(1)))
  })
  await page.getByRole('radio', { name: /Two digits only/ }).check()
  await page.getByRole('button', { name: 'Load demo data' }).click()
  await expect(page.getByRole('alert')).toContainText('The demo data file is damaged')
  expect(await shownCounts(page)).toEqual(before)
  expect(await storedLabels(page)).toEqual(before.perLabel)
  expect(
    await page.evaluate(
      async () => !!(await (await caches.open('pollen-data')).match('/data/mnist.bin')),
    ),
  ).toBe(false)

  await loadDemo(page, 'two-digits')
  expect((await shownCounts(page)).perLabel.filter((n) => n > 0).length).toBeLessThanOrEqual(2)
  expect(
    await page.evaluate(
      async () => !!(await (await caches.open('pollen-data')).match('/data/mnist.bin')),
    ),
  ).toBe(true)
})
