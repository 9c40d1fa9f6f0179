// A phone that saves data downloads its model compressed (issue 18): with `saveData` on (as in
// compressed-upload.spec.ts), it joins a task serving float32, float16 and deltas. Its first round's
// model comes as float16 (it holds nothing yet), and its second as an int8 delta from that float16
// base: about a quarter of float32's bytes. The responses are read in the browser (the
// `X-Pollen-Encoding` header and the body), and the coordinator's round counts the same bytes down.
import { expect, test, type Response } from '@playwright/test'
import { joinTask, loadDemo, openApp, screenshot } from './app.ts'
import { createTask, deleteTask, rounds, uniqueName } from './coordinator.ts'

const NAME = uniqueName('Delta digits')
const MODELS = /\/api\/v1\/models\/([0-9a-f]{64})$/

interface Download {
  hash: string
  encoding: string | null
  bytes: number
}

test.beforeEach(async ({ context }) => {
  await context.addInitScript(() => {
    // Lite mode on a 4g network: saveData is what the phone's download pick reads.
    const connection = Object.assign(new EventTarget(), { saveData: true, effectiveType: '4g' })
    Object.defineProperty(Navigator.prototype, 'connection', { get: () => connection })
  })
})

test('a phone saving data downloads float16 first, then a delta from it, a quarter of float32', async ({
  page,
}) => {
  test.setTimeout(240_000)
  const task = await createTask({
    name: NAME,
    purpose: 'Read handwritten digits, downloading as few bytes as the phone asks for.',
    model: { preset: 'mnist-2nn' },
    rounds: { total: 20, clientsPerRound: 1, minReports: 1, deadlineSeconds: 120 },
    compression: { downloads: ['float32', 'float16', 'delta'] },
  })
  // The float32 model's tensors, as its update's container holds them: 797,228 bytes.
  const float32Bytes = task.model.updateBytes
  const downloads: Download[] = []
  const read = async (response: Response) => {
    const hash = MODELS.exec(new URL(response.url()).pathname)?.[1]
    if (!hash || response.status() !== 200) return
    const encoding = (await response.allHeaders())['x-pollen-encoding'] ?? null
    downloads.push({ hash, encoding, bytes: (await response.body()).length })
  }
  const pending: Promise<void>[] = []
  page.on('response', (response) => pending.push(read(response)))
  try {
    await openApp(page)
    await loadDemo(page, 'iid')
    await joinTask(page, NAME)
    // Two rounds accepted: the second trained on a model that came as a delta.
    await page.getByRole('link', { name: 'History' }).click()
    const accepted = page.locator('#history-list li[data-outcome="accepted"]')
    await expect(accepted).toHaveCount(2, { timeout: 200_000 })
    await Promise.all(pending)

    expect(downloads.map((d) => d.encoding).slice(0, 2)).toEqual(['float16', 'delta'])
    const [first, second] = downloads as [Download, Download]
    expect(first.bytes).toBeLessThan(float32Bytes * 0.51)
    expect(second.bytes).toBeLessThan(float32Bytes * 0.3)
    expect(second.hash).not.toBe(first.hash)

    // The History says what each round's model cost, beside what it sent.
    const secondRow = accepted.first() // newest first
    await expect(secondRow).toHaveAttribute('data-download-encoding', 'delta')
    await expect(secondRow).toHaveAttribute('data-bytes-down', String(second.bytes))
    await expect(secondRow).toContainText(/Downloaded[\d.]+ kB, delta/)
    await expect(accepted.last()).toHaveAttribute('data-download-encoding', 'float16')
    await screenshot(page, '61-history-delta-download')

    // The coordinator counted the delta's bytes down in the round it was the model of, and
    // took the update trained on it.
    const round = Number(await secondRow.getAttribute('data-round'))
    await expect
      .poll(async () => (await rounds(task.id)).find((r) => r.round === round))
      .toMatchObject({
        baseModel: second.hash,
        status: 'committed',
        reported: 1,
        bytesDown: second.bytes,
      })
  } finally {
    await deleteTask(task.id)
  }
})
