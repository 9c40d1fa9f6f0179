// A phone that saves data uploads compressed (issue 18): with `saveData` on (navigator.connection
// defined by an init script, as Chromium on a phone in Lite mode reports it), it joins a task
// accepting float32, int8 and 1-bit, trains a round, and sends its update as bbit1, the smallest
// the task accepts. The bytes on the wire are measured in the browser (a fetch wrapper in the
// page, and the request as Chromium sent it); the coordinator's round counts the same bytes up.
import { expect, test } from '@playwright/test'
import { decodeContainerHeader } from '../shared/tensors/index.ts'
import { joinTask, loadDemo, openApp, screenshot } from './app.ts'
import { createTask, deleteTask, rounds, uniqueName } from './coordinator.ts'

const NAME = uniqueName('Compressed digits')
const UPDATES = /\/api\/v1\/tasks\/[\w-]+\/rounds\/\d+\/updates$/

declare global {
  interface Window {
    /** Bytes of each update body the page handed to fetch, as the init script measured them. */
    __updateBytes?: number[]
  }
}

test.beforeEach(async ({ context }) => {
  await context.addInitScript(() => {
    // Lite mode on a 4g network: saveData is what the phone's codec pick reads.
    const connection = Object.assign(new EventTarget(), { saveData: true, effectiveType: '4g' })
    Object.defineProperty(Navigator.prototype, 'connection', { get: () => connection })
    const sent: number[] = (window.__updateBytes = [])
    const fetch = window.fetch.bind(window)
    window.fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input)
      const body = init?.body
      if (/\/updates$/.test(url) && (body instanceof ArrayBuffer || ArrayBuffer.isView(body)))
        sent.push(body.byteLength)
      return fetch(input, init)
    }
  })
})

test('a phone saving data uploads its update as 1-bit, a fraction of float32’s bytes', async ({
  page,
  context,
}) => {
  test.setTimeout(180_000)
  const task = await createTask({
    name: NAME,
    purpose: 'Read handwritten digits, sending as few bytes as the phone asks for.',
    model: { preset: 'mnist-2nn' },
    rounds: { total: 20, clientsPerRound: 1, minReports: 1, deadlineSeconds: 120 },
    compression: { uploads: ['float32', 'int8', 'bbit1'] },
  })
  const float32Bytes = task.model.updateBytes
  try {
    const bodies: Buffer[] = []
    context.on('request', (request) => {
      const body = request.postDataBuffer()
      if (request.method() === 'POST' && UPDATES.test(new URL(request.url()).pathname) && body)
        bodies.push(body)
    })
    await openApp(page)
    expect(await page.evaluate(() => (navigator as { connection?: unknown }).connection)).toEqual(
      expect.objectContaining({ saveData: true }),
    )
    await loadDemo(page, 'iid')
    await joinTask(page, NAME)
    await expect(page.locator('#contribute-last')).toContainText('accepted', { timeout: 120_000 })

    // On the wire: a 1-bit container, well under a sixteenth of float32's bytes.
    expect(bodies.length).toBeGreaterThanOrEqual(1)
    const body = new Uint8Array(bodies[0]!)
    expect(decodeContainerHeader(body).codec).toBe('bbit1')
    expect(body.length).toBeLessThan(float32Bytes / 16)
    const measured = await page.evaluate(() => window.__updateBytes ?? [])
    expect(measured[0]).toBe(body.length)

    // The History says so, and the coordinator's round counted the same bytes up.
    await page.getByRole('link', { name: 'History' }).click()
    const row = page.locator('#history-list li[data-outcome="accepted"]').last()
    await expect(row).toHaveAttribute('data-codec', 'bbit1')
    await expect(row).toHaveAttribute('data-bytes-sent', String(body.length))
    await expect(row).toContainText('Encodingbbit1')
    await screenshot(page, '60-history-compressed')
    const round = Number(await row.getAttribute('data-round'))
    await expect
      .poll(async () => (await rounds(task.id)).find((r) => r.round === round))
      .toMatchObject({ status: 'committed', reported: 1, bytesUp: body.length })
  } finally {
    await deleteTask(task.id)
  }
})

test('a phone saving data on a top-k task keeps what it held back in IndexedDB', async ({
  page,
}) => {
  test.setTimeout(180_000)
  const name = uniqueName('Top-k digits')
  const task = await createTask({
    name,
    purpose: 'Read handwritten digits, sending only the largest changes.',
    model: { preset: 'mnist-2nn' },
    rounds: { total: 20, clientsPerRound: 1, minReports: 1, deadlineSeconds: 120 },
    compression: { uploads: ['float32', 'topk'] },
  })
  try {
    await openApp(page)
    await loadDemo(page, 'iid')
    await joinTask(page, name)
    await expect(page.locator('#contribute-last')).toContainText('accepted', { timeout: 120_000 })
    const measured = await page.evaluate(() => window.__updateBytes ?? [])
    // 1% of the entries as (index, value) pairs: about a fiftieth of float32's bytes.
    expect(measured[0]).toBeLessThan(task.model.updateBytes / 40)
    await page.getByRole('link', { name: 'History' }).click()
    const row = page.locator('#history-list li[data-outcome="accepted"]').last()
    await expect(row).toHaveAttribute('data-codec', 'topk')
    const round = Number(await row.getAttribute('data-round'))
    // The residual, read from IndexedDB itself: made in the round sent, every tensor of the model.
    const kept = await page.evaluate(
      (taskId) =>
        new Promise<{ round: number; entries: number; nonZero: number } | null>((resolve) => {
          const open = indexedDB.open('pollen')
          open.onsuccess = () => {
            const get = open.result.transaction('residuals').objectStore('residuals').get(taskId)
            get.onsuccess = () => {
              const r = get.result as
                { round: number; tensors: { data: Float32Array }[] } | undefined
              open.result.close()
              if (!r) return resolve(null)
              const data = r.tensors.flatMap((t) => Array.from(t.data))
              resolve({
                round: r.round,
                entries: data.length,
                nonZero: data.filter((v) => v !== 0).length,
              })
            }
          }
        }),
      task.id,
    )
    expect(kept).toMatchObject({ round, entries: task.model.trainableParameters })
    // What was not sent is kept: most entries of the delta.
    expect(kept!.nonZero).toBeGreaterThan(kept!.entries / 2)
  } finally {
    await deleteTask(task.id)
  }
})
