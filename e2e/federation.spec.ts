// Federated learning across three phones: each holds a different two-digit (non-IID) demo
// shard, agrees to the task, and trains three rounds of synet on WASM in its worker against the
// real coordinator; held-out accuracy rises above the first round's, each phone's History lists
// its rounds, and no request of any phone leaves the protocol or carries a stored example.
import { type Browser, devices, expect, type Page, type Request, test } from '@playwright/test'
import type { DemoSetting, HistoryRecord } from '../client/app/storage/index.ts'
import { joinTask, loadDemo, openApp, screenshot, storedExamples, storedRecords } from './app.ts'
import { createTask, deleteTask, rounds, uniqueName } from './coordinator.ts'
import { e2eEnvironment } from './environment.ts'

const { url } = await e2eEnvironment()

const PHONES = 3
const ROUNDS = 3

/** The requests a phone may make while it trains: the protocol, and the app's own files. */
const ALLOWED = [
  /^\/api\/v1\/devices(\/checkin|\/tasks)?$/,
  /^\/api\/v1\/models\/[0-9a-f]{64}$/,
  /^\/api\/v1\/tasks\/[\w-]+\/rounds\/\d+\/updates$/,
  /^\/$/,
  /^\/(index\.html|sw\.js|manifest\.webmanifest)$/,
  /^\/(assets|icons)\/[\w.-]+$/,
]

interface Phone {
  page: Page
  labels: number[]
  /** Some stored examples' pixels, read from IndexedDB directly. */
  pixels: Buffer[]
  requests: { request: Request; body: Buffer | null }[]
}

/** A phone of its own (context: IndexedDB, service worker, worker) with a two-digit shard. */
async function phone(browser: Browser, others: Phone[]): Promise<Phone> {
  const context = await browser.newContext({ ...devices['Pixel 5'], baseURL: url })
  const page = await context.newPage()
  await openApp(page)
  // Each phone a different shard: loading again draws another one.
  let labels: number[] = []
  for (let attempt = 0; attempt < 5; attempt++) {
    await loadDemo(page, 'two-digits')
    const demo = (await storedRecords<DemoSetting>(page, 'settings')).find((s) => s.key === 'demo')
    labels = demo!.labels
    if (!others.some((o) => o.labels.join() === labels.join())) break
  }
  const raw = (await storedExamples(page, 10)).map((e) => e.features)
  const requests: Phone['requests'] = []
  context.on('request', (request) => requests.push({ request, body: request.postDataBuffer() }))
  expect(raw).toHaveLength(10)
  return { page, labels, pixels: raw.map((p) => Buffer.from(p)), requests }
}

test('three phones with non-IID shards train synet together; accuracy rises', async ({
  browser,
}) => {
  test.setTimeout(600_000)
  const name = uniqueName('Three phones')
  const task = await createTask({
    name,
    purpose: 'Learn handwritten digits from three phones, none of which holds them all.',
    model: { preset: 'synet' },
    train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
    rounds: {
      total: ROUNDS,
      clientsPerRound: PHONES,
      minReports: PHONES,
      overSelect: 1,
      deadlineSeconds: 400,
    },
  })
  const phones: Phone[] = []
  try {
    for (let i = 0; i < PHONES; i++) phones.push(await phone(browser, phones))
    expect(new Set(phones.map((p) => p.labels.join())).size).toBe(PHONES)
    for (const { page } of phones) await joinTask(page, name)
    for (const { page } of phones) {
      await expect(page.locator('#contribute-backend')).toHaveText('wasm', { timeout: 120_000 })
    }
    await screenshot(phones[0]!.page, '26-federation-training')

    await expect
      .poll(async () => (await rounds(task.id)).filter((r) => r.status === 'committed').length, {
        timeout: 540_000,
        intervals: [2000],
      })
      .toBe(ROUNDS)
    const committed = (await rounds(task.id)).sort((a, b) => a.round - b.round)
    const accuracy = committed.map((r) => r.accuracy!)
    console.log(`three phones, synet, held-out accuracy by round: ${accuracy.join(', ')}`)
    expect(committed.map((r) => r.reported)).toEqual([PHONES, PHONES, PHONES])
    expect(Math.max(...accuracy.slice(1))).toBeGreaterThan(accuracy[0]!)
    expect(accuracy[ROUNDS - 1]).toBeGreaterThan(accuracy[0]!)

    for (const [i, { page }] of phones.entries()) {
      await page.getByRole('link', { name: 'History' }).click()
      const rows = page.locator(`#history-list li[data-task-id="${task.id}"]`)
      await expect(rows).toHaveCount(ROUNDS)
      await expect(rows.and(page.locator('[data-outcome="accepted"]'))).toHaveCount(ROUNDS)
      const history = (await storedRecords<HistoryRecord>(page, 'history')).filter(
        (h) => h.taskId === task.id,
      )
      expect(history.map((h) => h.round).sort()).toEqual([1, 2, 3])
      expect(history.every((h) => h.backend === 'wasm')).toBe(true)
      if (i === 0) await screenshot(page, '27-federation-history')
    }

    // Every request of every phone: the protocol or the app's files, and no stored example.
    for (const { requests, pixels } of phones) {
      const uploads = requests.filter((r) => /\/updates$/.test(r.request.url()))
      expect(uploads).toHaveLength(ROUNDS)
      for (const { request, body } of requests) {
        const target = new URL(request.url())
        if (target.protocol === 'blob:') continue // the worker's own wasm thread scripts
        expect(target.origin).toBe(url)
        expect(
          ALLOWED.some((pattern) => pattern.test(target.pathname)),
          `${request.method()} ${target.pathname}`,
        ).toBe(true)
        if (body) for (const example of pixels) expect(body.indexOf(example)).toBe(-1)
      }
    }
  } finally {
    await deleteTask(task.id)
    for (const { page } of phones) await page.context().close()
  }
})
