// Four phones train mnist-2nn with secure aggregation and distributed differential privacy:
// each clips its update, adds its share of the noise, masks it, and takes part in unmasking the
// sum. The task still learns; the rounds say what ε they spent; each phone's privacy ledger shows
// it; and no individual unmasked update reaches the coordinator, so none is in its store or log.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { type Browser, devices, expect, type Page, test } from '@playwright/test'
import { CONTAINER_MAGIC } from '../shared/tensors/index.ts'
import { joinTask, loadDemo, openApp, screenshot } from './app.ts'
import { createTask, deleteTask, rounds, uniqueName } from './coordinator.ts'
import { e2eEnvironment } from './environment.ts'

const { url } = await e2eEnvironment()

const PHONES = 4
const ROUNDS = 3
/** What a phone may ask of the coordinator in a secure round, besides the app's own files. */
const PROTOCOL = [
  /^\/api\/v1\/devices(\/checkin|\/tasks)?$/,
  /^\/api\/v1\/models\/[0-9a-f]{64}$/,
  /^\/api\/v1\/tasks\/[\w-]+\/rounds\/\d+\/updates$/,
  /^\/api\/v1\/tasks\/[\w-]+\/rounds\/\d+\/secagg(\/(keys|shares|reveal))?$/,
]

interface Phone {
  page: Page
  bodies: { path: string; body: Buffer }[]
}

async function phone(browser: Browser): Promise<Phone> {
  const context = await browser.newContext({ ...devices['Pixel 5'], baseURL: url })
  const page = await context.newPage()
  await openApp(page)
  await loadDemo(page, 'iid')
  const bodies: Phone['bodies'] = []
  context.on('request', (request) => {
    const target = new URL(request.url())
    if (target.origin !== url || !target.pathname.startsWith('/api/')) return
    expect(
      PROTOCOL.some((p) => p.test(target.pathname)),
      `${request.method()} ${target.pathname}`,
    ).toBe(true)
    const body = request.postDataBuffer()
    if (body) bodies.push({ path: target.pathname, body })
  })
  return { page, bodies }
}

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

/** Pearson's χ² of the bytes against uniform (255 degrees of freedom). */
function chiSquare(bytes: Buffer): number {
  const counts = new Array<number>(256).fill(0)
  for (const b of bytes) counts[b]! += 1
  const expected = bytes.length / 256
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0)
}

test('four phones aggregate securely with distributed DP; the task learns, the coordinator sees only sums', async ({
  browser,
}) => {
  test.setTimeout(480_000)
  const started = Date.now() - 1000
  const name = uniqueName('Private digits')
  const task = await createTask({
    name,
    purpose: 'Learn digits without the coordinator seeing any one phone’s update.',
    model: { preset: 'mnist-2nn' },
    train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
    rounds: {
      total: ROUNDS,
      clientsPerRound: PHONES,
      minReports: 3,
      overSelect: 1,
      deadlineSeconds: 180,
    },
    // Four phones cannot hide one another: with q near 1 only a tiny σ lets the model learn,
    // so ε is large. The mechanism is what this test checks; real rounds have hundreds.
    privacy: { clipNorm: 2, noiseMultiplier: 0.003, epsilonBudget: 1e6, mode: 'distributed' },
    secureAggregation: true,
  })
  expect(task.aggregation.weighting).toBe('uniform')
  const phones: Phone[] = []
  try {
    for (let i = 0; i < PHONES; i++) phones.push(await phone(browser))
    for (const { page } of phones) {
      const card = await joinTask(page, name)
      await expect(card).toContainText('Secure aggregation')
    }
    await screenshot(phones[0]!.page, '40-privacy-tasks')

    await expect
      .poll(async () => (await rounds(task.id)).filter((r) => r.status === 'committed').length, {
        timeout: 420_000,
        intervals: [2000],
      })
      .toBe(ROUNDS)
    const committed = (await rounds(task.id)).sort((a, b) => a.round - b.round)
    const accuracy = committed.map((r) => r.accuracy!)
    console.log(`secure + distributed DP, mnist-2nn, held-out accuracy: ${accuracy.join(', ')}`)
    console.log(`ε after each round: ${committed.map((r) => r.epsilon).join(', ')}`)
    // It learns: a random model is right one time in ten.
    expect(accuracy[ROUNDS - 1]).toBeGreaterThan(0.5)
    for (const r of committed) expect(r.reported).toBeGreaterThanOrEqual(3)
    const epsilons = committed.map((r) => r.epsilon!)
    for (let i = 1; i < ROUNDS; i++) expect(epsilons[i]).toBeGreaterThan(epsilons[i - 1]!)

    // Every update a phone sent was masked (PSA1), its bytes indistinguishable from uniform
    // noise; no body was a plain update container; every other body is a small JSON message.
    for (const { bodies } of phones) {
      const uploads = bodies.filter((b) => b.path.endsWith('/updates'))
      expect(uploads.length).toBeGreaterThanOrEqual(ROUNDS - 1)
      for (const { body } of uploads) {
        expect(body.subarray(0, 4).toString()).toBe('PSA1')
        const headerLength = body.readUInt32LE(4)
        const words = body.subarray(Math.ceil((8 + headerLength) / 4) * 4)
        expect(words.length).toBe(199_210 * 4)
        // χ² of uniform bytes: 255 ± 22.6; a float32 update would be in the hundred thousands.
        expect(chiSquare(words)).toBeLessThan(255 + 6 * 22.6)
      }
      for (const { path, body } of bodies) {
        expect(body.subarray(0, 4).toString()).not.toBe(CONTAINER_MAGIC)
        if (!path.endsWith('/updates')) expect(body.length).toBeLessThan(64 * 1024)
      }
    }

    // The coordinator cannot keep what it never received: no phone sent an unmasked update
    // (above). What it did receive, the masked frames, it does not keep either: no blob or
    // database file holds any of their words, every blob is a model container, and its log has
    // no line long enough to hold an update.
    const needles = phones.flatMap(({ bodies }) =>
      bodies
        .filter((b) => b.path.endsWith('/updates'))
        .map(({ body }) => body.subarray(body.length - 4096, body.length - 4032)),
    )
    const dataDir = process.env.POLLEN_E2E_DATA!
    // Only files written since the task began can hold anything of its rounds.
    for (const file of await filesUnder(dataDir)) {
      if ((await stat(file)).mtimeMs < started) continue
      const bytes = await readFile(file)
      for (const needle of needles) expect(bytes.indexOf(needle), file).toBe(-1)
      if (file.startsWith(join(dataDir, 'blobs')) && !file.split('/').pop()!.startsWith('.'))
        expect(bytes.subarray(0, 4).toString(), file).toBe(CONTAINER_MAGIC)
    }
    const log = await readFile(join('test-results', 'coordinator.log'), 'utf8')
    for (const line of log.split('\n')) expect(line.length).toBeLessThan(4000)

    // Each phone's ledger: the task, its rounds and its ε.
    const spent = committed[ROUNDS - 1]!.epsilon!
    for (const [i, { page }] of phones.entries()) {
      await page.getByRole('link', { name: 'Privacy' }).click()
      const entry = page.locator('#privacy-list li').filter({ hasText: name })
      await expect(entry).toContainText('Secure aggregation')
      await expect(entry).toContainText(/ε/)
      await expect(page.locator('#privacy-summary')).toContainText('joined')
      if (i === 0) await screenshot(page, '41-privacy-ledger')
    }
    console.log(`ε spent: ${spent}`)
  } finally {
    await deleteTask(task.id)
    for (const { page } of phones) await page.context().close()
  }
})
