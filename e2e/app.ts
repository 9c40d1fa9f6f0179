// Page helpers for the phone app's e2e tests.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, type Locator, type Page } from '@playwright/test'

/** Where the screenshot of each screen goes (test-results is Playwright's outputDir). */
export const SCREENS_DIR = join('test-results', 'screens')

/**
 * A screenshot of the current screen, named for a person to look at: the whole page, or with
 * `fullPage: false` what the phone's screen shows (a modal dialog over the page).
 */
export async function screenshot(
  page: Page,
  name: string,
  { fullPage = true } = {},
): Promise<void> {
  await mkdir(SCREENS_DIR, { recursive: true })
  await page.screenshot({ path: join(SCREENS_DIR, `${name}.png`), fullPage })
}

/** Opens the app and waits until it has read the stored data. */
export async function openApp(page: Page): Promise<void> {
  await page.goto('/')
  await waitUntilReady(page)
}

export async function waitUntilReady(page: Page): Promise<void> {
  await expect(page.locator('html')).toHaveAttribute('data-ready', 'true')
}

/** The service worker controls the page: the app shell is cached and opens offline. */
export async function waitForServiceWorker(page: Page): Promise<void> {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null)
  await expect(page.getByText('Works offline')).toBeVisible()
}

/** The counts per digit as the screen shows them, and the total it states. */
export async function shownCounts(page: Page): Promise<{ perLabel: number[]; total: number }> {
  const rows = page.getByRole('list', { name: 'Examples per digit' }).getByRole('listitem')
  await expect(rows).toHaveCount(10)
  const perLabel: number[] = []
  for (let label = 0; label < 10; label++) {
    const row = rows.nth(label)
    await expect(row).toHaveAttribute('data-label', String(label))
    const text = await row.locator('.count').innerText()
    expect(await row.getAttribute('data-count')).toBe(text.replace(/\D/g, ''))
    perLabel.push(Number(text.replace(/\D/g, '')))
  }
  const summary = await page.locator('#summary strong').innerText()
  return { perLabel, total: Number(summary.replace(/\D/g, '')) }
}

export const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

/** Chooses a kind of demo data and loads it; waits for the success message. */
export async function loadDemo(page: Page, kind: 'iid' | 'two-digits'): Promise<void> {
  await page
    .getByRole('radio', { name: kind === 'iid' ? /A random tenth/ : /Two digits only/ })
    .check()
  await page.getByRole('button', { name: 'Load demo data' }).click()
  await expect(
    page.getByRole('status').filter({ hasText: /^Stored [\d,]+ demo digits/ }),
  ).toBeVisible()
}

/**
 * Reads IndexedDB directly, not through the app: how many examples are stored, per label.
 * Call only after the app opened its database (opening a missing one would create it empty).
 */
export function storedLabels(page: Page): Promise<number[]> {
  return page.evaluate(
    () =>
      new Promise<number[]>((resolve, reject) => {
        const open = indexedDB.open('pollen')
        open.onerror = () => reject(open.error ?? new Error('open failed'))
        open.onsuccess = () => {
          const db = open.result
          const request = db.transaction('examples').objectStore('examples').getAll()
          request.onerror = () => reject(request.error ?? new Error('getAll failed'))
          request.onsuccess = () => {
            const counts = new Array<number>(10).fill(0)
            for (const record of request.result as { label: number; features: Uint8Array }[]) {
              if (record.features.length !== 784) throw new Error('an example without 784 pixels')
              counts[record.label]! += 1
            }
            db.close()
            resolve(counts)
          }
        }
      }),
  )
}

/** The Tasks screen's card of the task named `name`. */
export function taskCard(page: Page, name: string): Locator {
  return page.getByRole('listitem').filter({ has: page.getByRole('heading', { name }) })
}

/** Opens the Tasks screen and joins the task named `name`, confirming its terms. */
export async function joinTask(page: Page, name: string): Promise<Locator> {
  await page.getByRole('link', { name: 'Tasks' }).click()
  const card = taskCard(page, name)
  await card.getByRole('button', { name: 'Join' }).click()
  await confirmJoin(page, name)
  await expect(card.getByText('Joined', { exact: true })).toBeVisible()
  return card
}

/** The dialog that asks to confirm joining the task named `name`. */
export const joinDialog = (page: Page, name: string): Locator =>
  page.getByRole('dialog', { name: `Join “${name}”?` })

/** Confirms the terms in the join dialog of the task named `name`. */
export async function confirmJoin(page: Page, name: string): Promise<void> {
  const dialog = joinDialog(page, name)
  await dialog.getByRole('button', { name: 'Join and train' }).click()
  await expect(dialog).toBeHidden()
}

/**
 * The current screen at a phone's width (390 px) and a laptop's (1440 px), as
 * test-results/screens/<name>-390.png and <name>-1440.png, then back to the phone's viewport.
 */
export async function screenshots(
  page: Page,
  name: string,
  { fullPage = true } = {},
): Promise<void> {
  const before = page.viewportSize()
  for (const [width, height] of [
    [390, 844],
    [1440, 900],
  ] as const) {
    await page.setViewportSize({ width, height })
    await screenshot(page, `${name}-${width}`, { fullPage })
  }
  if (before) await page.setViewportSize(before)
}

/**
 * Reads one IndexedDB store of the app's database directly (not through the app). Binary
 * fields (ArrayBuffer, typed arrays) come back as `{ byteLength }`.
 */
export function storedRecords<T>(page: Page, store: string): Promise<T[]> {
  return page.evaluate(
    (store) =>
      new Promise<T[]>((resolve, reject) => {
        const open = indexedDB.open('pollen')
        open.onerror = () => reject(open.error ?? new Error('open failed'))
        open.onsuccess = () => {
          const db = open.result
          const request = db.transaction(store).objectStore(store).getAll()
          request.onerror = () => reject(request.error ?? new Error('getAll failed'))
          request.onsuccess = () => {
            db.close()
            const binary = (v: unknown) => v instanceof ArrayBuffer || ArrayBuffer.isView(v)
            const json = JSON.stringify(request.result, (_, v: unknown) =>
              binary(v) ? { byteLength: (v as ArrayBuffer).byteLength } : v,
            )
            resolve(JSON.parse(json) as T[])
          }
        }
      }),
    store,
  )
}

/** A stored example as the tests compare it: its features as plain numbers. */
export interface StoredExample {
  label: number
  source: string
  shape: number[]
  features: number[]
}

/** The stored examples (the first `limit`, if given), read from IndexedDB directly. */
export function storedExamples(page: Page, limit?: number): Promise<StoredExample[]> {
  return page.evaluate(
    (limit) =>
      new Promise<StoredExample[]>((resolve, reject) => {
        const open = indexedDB.open('pollen')
        open.onerror = () => reject(open.error ?? new Error('open failed'))
        open.onsuccess = () => {
          const db = open.result
          const request = db.transaction('examples').objectStore('examples').getAll(null, limit)
          request.onerror = () => reject(request.error ?? new Error('getAll failed'))
          request.onsuccess = () => {
            db.close()
            resolve(
              (
                request.result as {
                  label: number
                  source: string
                  shape: number[]
                  features: Uint8Array | Float32Array
                }[]
              ).map((r) => ({
                label: r.label,
                source: r.source,
                shape: r.shape,
                features: Array.from(r.features),
              })),
            )
          }
        }
      }),
    limit,
  )
}
