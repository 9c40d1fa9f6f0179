// The data screen on a phone: demo data of both kinds, counts per digit, persistence across a
// reload, "Delete my data", keyboard use, and bad downloads that must lose nothing.
import { type APIRequestContext, expect, type Page, test } from '@playwright/test'
import { loadDemo, openApp, screenshot, shownCounts, storedLabels, sum } from './app.ts'

/** The demo shard is a tenth of the training split, whose size the file's header gives. */
async function trainCount(request: APIRequestContext) {
  const response = await request.get('/data/mnist.bin')
  expect(response.ok()).toBe(true)
  const bytes = await response.body()
  return bytes.readUInt32LE(8)
}

test('the app opens on a phone: the empty data screen, cross-origin isolated', async ({ page }) => {
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(error.message))
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()))
  await openApp(page)
  await expect(page).toHaveTitle('Pollen')
  await expect(page.getByRole('heading', { level: 1, name: 'Your data' })).toBeVisible()
  await expect(page.getByText('No examples yet.')).toBeVisible()
  await expect(page.getByRole('button', { name: 'Delete my data' })).toBeDisabled()
  await expect(page.getByRole('radio', { name: /A random tenth/ })).toBeChecked()
  // The coordinator's COOP/COEP reach the page (WASM threads will need them).
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true)
  // Nothing wider than the phone: no sideways scrolling.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
    page.viewportSize()!.width,
  )
  // Thumb-sized targets.
  for (const name of ['Load demo data', 'Delete my data']) {
    const box = await page.getByRole('button', { name }).first().boundingBox()
    expect(box!.height).toBeGreaterThanOrEqual(44)
  }
  await screenshot(page, '01-empty')
  expect(problems).toEqual([])
})

test('IID demo data: every digit, counts summing to a tenth of the training split', async ({
  page,
  request,
}) => {
  const train = await trainCount(request)
  await openApp(page)
  await loadDemo(page, 'iid')
  const { perLabel, total } = await shownCounts(page)
  expect(sum(perLabel)).toBe(total)
  expect(total).toBeGreaterThanOrEqual(Math.floor(train / 10))
  expect(total).toBeLessThanOrEqual(Math.ceil(train / 10))
  expect(perLabel.every((n) => n > 0)).toBe(true)
  expect(await storedLabels(page)).toEqual(perLabel)
  await expect(page.getByText('Demo digits: a random tenth of MNIST.')).toBeVisible()
  await expect(page.getByRole('button', { name: 'Delete my data' })).toBeEnabled()
  await screenshot(page, '02-demo-iid')
})

test('two-digit demo data: at most two digits, and it replaces the IID shard', async ({
  page,
  request,
}) => {
  const train = await trainCount(request)
  await openApp(page)
  await loadDemo(page, 'iid')
  await loadDemo(page, 'two-digits')
  const { perLabel, total } = await shownCounts(page)
  const present = perLabel.flatMap((n, label) => (n > 0 ? [label] : []))
  expect(present.length).toBeGreaterThanOrEqual(1)
  expect(present.length).toBeLessThanOrEqual(2)
  expect(sum(perLabel)).toBe(total)
  // Two of twenty label-sorted shards: about a tenth, not the IID shard plus more.
  expect(total).toBeGreaterThan(train / 20)
  expect(total).toBeLessThan(train / 5)
  expect(await storedLabels(page)).toEqual(perLabel)
  await expect(page.locator('#summary')).toContainText(present.join(' and '))
  await expect(page.locator('#counts li.zero')).toHaveCount(10 - present.length)
  await screenshot(page, '03-demo-two-digits')
})

test('reload keeps the data; "Delete my data" asks, then really deletes', async ({ page }) => {
  await openApp(page)
  await loadDemo(page, 'iid')
  const before = await shownCounts(page)

  await page.reload()
  await expect(page.locator('html')).toHaveAttribute('data-ready', 'true')
  expect(await shownCounts(page)).toEqual(before)
  expect(await storedLabels(page)).toEqual(before.perLabel)

  // Cancel first: nothing happens.
  await page.getByRole('button', { name: 'Delete my data' }).click()
  const dialog = page.getByRole('dialog', { name: 'Delete your data?' })
  await expect(dialog).toBeVisible()
  await expect(dialog).toContainText(`all ${before.total.toLocaleString('en')} examples`)
  await screenshot(page, '04-confirm-delete', { fullPage: false })
  await dialog.getByRole('button', { name: 'Keep my data' }).click()
  await expect(dialog).toBeHidden()
  expect(sum(await storedLabels(page))).toBe(before.total)

  await page.getByRole('button', { name: 'Delete my data' }).click()
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click()
  await expect(
    page.getByText(`Deleted ${before.total.toLocaleString('en')} examples.`),
  ).toBeVisible()
  await expect(page.getByText('No examples yet.')).toBeVisible()
  await expect(page.getByRole('list', { name: 'Examples per digit' })).toBeHidden()
  expect(sum(await storedLabels(page))).toBe(0)
  await screenshot(page, '05-deleted')

  await page.reload()
  await expect(page.locator('html')).toHaveAttribute('data-ready', 'true')
  await expect(page.getByText('No examples yet.')).toBeVisible()
  expect(sum(await storedLabels(page))).toBe(0)
})

test('usable by keyboard alone: choose, load, delete behind the dialog', async ({ page }) => {
  await openApp(page)
  await page.keyboard.press('Tab')
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused()
  // The screens' tabs come next, the current one marked.
  const tabs = page.getByRole('navigation', { name: 'Screens' }).getByRole('link')
  const names = ['Data', 'Tasks', 'Try', 'History', 'Privacy']
  await expect(tabs).toHaveText(names)
  await expect(tabs.first()).toHaveAttribute('aria-current', 'page')
  for (const name of names) {
    await page.keyboard.press('Tab')
    await expect(tabs.filter({ hasText: name })).toBeFocused()
  }
  // Then drawing's digit picker and buttons (the pad itself needs a pointer), and importing.
  for (const control of [
    page.getByRole('radio', { name: '0', exact: true }),
    page.getByRole('button', { name: 'Clear' }),
    page.getByRole('button', { name: 'Save' }),
    page.getByLabel('Image files'),
    page.getByLabel('Digit', { exact: true }),
    page.getByRole('button', { name: 'Import' }),
  ]) {
    await page.keyboard.press('Tab')
    await expect(control).toBeFocused()
  }
  await page.keyboard.press('Tab')
  await expect(page.getByRole('radio', { name: /A random tenth/ })).toBeFocused()
  await page.keyboard.press('ArrowDown')
  await expect(page.getByRole('radio', { name: /Two digits only/ })).toBeChecked()
  await page.keyboard.press('Tab')
  const load = page.getByRole('button', { name: 'Load demo data' })
  await expect(load).toBeFocused()
  await screenshot(page, '06-keyboard-focus')
  await page.keyboard.press('Enter')
  await expect(page.getByText(/^Stored [\d,]+ demo digits/)).toBeVisible()
  await expect(load).toBeFocused()
  const present = (await shownCounts(page)).perLabel.filter((n) => n > 0)
  expect(present.length).toBeLessThanOrEqual(2)

  await page.keyboard.press('Tab')
  const remove = page.getByRole('button', { name: 'Delete my data' })
  await expect(remove).toBeFocused()
  await page.keyboard.press('Enter')
  const dialog = page.getByRole('dialog', { name: 'Delete your data?' })
  await expect(dialog.getByRole('button', { name: 'Keep my data' })).toBeFocused()
  await page.keyboard.press('Escape')
  await expect(dialog).toBeHidden()
  await expect(remove).toBeFocused()
  expect(sum(await storedLabels(page))).toBe(sum(present))

  await page.keyboard.press('Enter')
  await page.keyboard.press('Tab')
  await expect(dialog.getByRole('button', { name: 'Delete', exact: true })).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page.getByText('No examples yet.')).toBeVisible()
  expect(sum(await storedLabels(page))).toBe(0)
})

test.describe('bad downloads', () => {
  // page.route sees the page's own requests only when no service worker answers them.
  test.use({ serviceWorkers: 'block' })

  test('a corrupt, a failing or a cut-off download: a clear message, nothing stored is lost', async ({
    page,
  }) => {
    await openApp(page)
    await loadDemo(page, 'iid')
    const before = await shownCounts(page)
    const alert = page.getByRole('alert')

    await page.route('**/data/mnist.bin', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/octet-stream',
        body: Buffer.from('<html>this is not the digits file</html>'.repeat(200)),
      }),
    )
    await loadDemoExpectingError(page)
    await expect(alert).toContainText('The demo data file is damaged')
    await expect(alert).toContainText('Nothing stored on this phone was changed.')
    expect(await shownCounts(page)).toEqual(before)
    expect(await storedLabels(page)).toEqual(before.perLabel)
    await screenshot(page, '07-corrupt-download')

    await page.unroute('**/data/mnist.bin')
    await page.route('**/data/mnist.bin', (route) => route.fulfill({ status: 500, body: 'boom' }))
    await loadDemoExpectingError(page)
    await expect(alert).toContainText('the server answered 500')

    await page.unroute('**/data/mnist.bin')
    await page.route('**/data/mnist.bin', (route) => route.abort('internetdisconnected'))
    await loadDemoExpectingError(page)
    await expect(alert).toContainText('no connection to the server')

    expect(await shownCounts(page)).toEqual(before)
    expect(await storedLabels(page)).toEqual(before.perLabel)
    await page.reload()
    await expect(page.locator('html')).toHaveAttribute('data-ready', 'true')
    expect(await shownCounts(page)).toEqual(before)

    // And once the file is good again, loading works.
    await page.unroute('**/data/mnist.bin')
    await loadDemo(page, 'two-digits')
  })
})

async function loadDemoExpectingError(page: Page) {
  await page.getByRole('radio', { name: /Two digits only/ }).check()
  await page.getByRole('button', { name: 'Load demo data' }).click()
  await expect(page.getByRole('alert')).toBeVisible()
  await expect(page.getByRole('button', { name: 'Load demo data' })).toBeEnabled()
}
