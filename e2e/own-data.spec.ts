// The owner's own digits on a phone: draw one with a finger or a mouse and label it; import
// labelled image files, bad ones refused by name with the reason and nothing lost; and "Try":
// a task's current model reads a drawn digit in the training worker, also offline once kept.
import { crc32, deflateSync } from 'node:zlib'
import { expect, type Page, test } from '@playwright/test'
import { buildModel } from '../shared/models/index.ts'
import type { TaskView } from '../shared/protocol/index.ts'
import { decodeContainer } from '../shared/tensors/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { predict } from '../shared/training/predict.ts'
import { openApp, screenshot, shownCounts, storedExamples } from './app.ts'
import { drawWithFinger, drawWithMouse, ONE, SEVEN } from './draw.ts'
import { e2eEnvironment } from './environment.ts'

const { url, adminToken } = await e2eEnvironment()
const admin = { Authorization: `Bearer ${adminToken}` }

/** Centre of mass of a 28x28 example. */
function centreOfMass(pixels: number[]): [number, number] {
  let [m, x, y] = [0, 0, 0]
  pixels.forEach((v, p) => {
    m += v
    x += v * ((p % 28) + 0.5)
    y += v * (Math.floor(p / 28) + 0.5)
  })
  return [x / m, y / m]
}

/** A real PNG (8-bit grayscale, CRCs and all): a dark bar on white paper, like a scanned "1". */
function png(width = 40, height = 60): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length, 0)
    head.write(type, 4, 'ascii')
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
    return Buffer.concat([head, data, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 0, 0, 0, 0], 8)
  const raw = Buffer.alloc(height * (width + 1), 255)
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0 // filter: none
    if (y < 8 || y >= height - 8) continue
    for (let x = 18; x < 23; x++) raw[y * (width + 1) + 1 + x] = 20
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const countOf = async (page: Page, label: number) =>
  Number(await page.locator(`#counts li[data-label="${label}"]`).getAttribute('data-count'))

test('draw a digit with a finger and with a mouse, label it, save it', async ({ page }) => {
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(error.message))
  await openApp(page)
  const pad = page.getByRole('img', { name: 'Drawing area for one digit' })
  const save = page.getByRole('button', { name: 'Save' })
  const message = page.locator('#draw-message')
  await pad.scrollIntoViewIfNeeded()

  // Nothing drawn: refused, nothing stored.
  await page.getByRole('radio', { name: '7' }).check()
  await save.click()
  await expect(message).toHaveText(/The drawing area is empty/)
  await expect(message).toHaveAttribute('role', 'alert')

  // A finger's "7".
  await drawWithFinger(page, pad, SEVEN)
  await save.click()
  await expect(message).toHaveText('Saved your 7. Draw another, or change the digit.')
  await expect(page.locator('#counts li[data-label="7"]')).toHaveAttribute('data-count', '1')

  // A mouse's "1", but no digit chosen yet after a reload: refused until one is.
  await page.reload()
  await expect(page.locator('html')).toHaveAttribute('data-ready', 'true')
  await drawWithMouse(page, pad, ONE)
  await save.click()
  await expect(message).toHaveText(/Choose which digit you drew/)
  await page.getByRole('radio', { name: '1' }).check()
  await screenshot(page, '30-draw')
  await save.click()
  await expect(message).toHaveText(/Saved your 1\./)
  const { perLabel, total } = await shownCounts(page)
  expect(total).toBe(2)
  expect(perLabel).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 0, 0])

  // What is stored: 784 bytes each, white on black, centred by mass, a tall thin "1".
  const records = await storedExamples(page)
  expect(records.map((r) => [r.label, r.source])).toEqual([
    [7, 'drawn'],
    [1, 'drawn'],
  ])
  for (const r of records) {
    expect(r.features).toHaveLength(784)
    expect(r.shape).toEqual([28, 28, 1])
    expect(Math.max(...r.features)).toBeGreaterThan(200)
    const [cx, cy] = centreOfMass(r.features)
    expect(Math.abs(cx - 14)).toBeLessThan(1)
    expect(Math.abs(cy - 14)).toBeLessThan(1)
    // The corners are background.
    expect([r.features[0], r.features[27], r.features[756], r.features[783]]).toEqual([0, 0, 0, 0])
  }
  const rows = (pixels: number[]) =>
    Array.from({ length: 28 }, (_, y) => pixels.slice(y * 28, y * 28 + 28).some((v) => v > 0))
  const cols = (pixels: number[]) =>
    Array.from({ length: 28 }, (_, x) => pixels.some((v, p) => p % 28 === x && v > 0))
  const one = records[1]!.features
  expect(rows(one).filter(Boolean).length).toBe(20)
  expect(cols(one).filter(Boolean).length).toBeLessThanOrEqual(6)
  await screenshot(page, '31-drawn-saved')
  expect(problems).toEqual([])
})

test('import images: a real PNG is stored; a text file, a cut PNG and a huge file are refused', async ({
  page,
}) => {
  await openApp(page)
  const files = page.getByLabel('Image files')
  const message = page.locator('#import-message')
  await files.scrollIntoViewIfNeeded()
  const good = png()
  const bad = [
    { name: '2-notes.png', mimeType: 'image/png', buffer: Buffer.from('Not a picture at all.\n') },
    { name: '3-cut.png', mimeType: 'image/png', buffer: good.subarray(0, good.length - 30) },
    { name: '4-huge.png', mimeType: 'image/png', buffer: Buffer.alloc(11 * 1024 * 1024) },
    { name: '5-empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) },
  ]

  // One good file among bad ones: the good one is stored, each bad one named with why.
  await files.setInputFiles([{ name: '1-scan.png', mimeType: 'image/png', buffer: good }, ...bad])
  await expect(page.getByLabel('Digit', { exact: true })).toHaveValue('from-name')
  await page.getByRole('button', { name: 'Import' }).click()
  await expect(message).toContainText('Stored 1 of 5 files: digit 1. Refused 4 files:')
  await expect(message).toHaveAttribute('role', 'alert')
  const refused = message.getByRole('listitem')
  await expect(refused).toHaveText([
    '2-notes.png: it is not an image: its contents are not PNG, JPEG, GIF, WebP or BMP.',
    /^3-cut\.png: the PNG image is damaged: its \w+ chunk is cut short\.$/,
    '4-huge.png: the file is 11.0 MB, over the limit of 10.0 MB for one image.',
    '5-empty.png: the file is empty (0 bytes).',
  ])
  await expect(page.locator('#counts li[data-label="1"]')).toHaveAttribute('data-count', '1')
  const stored = await storedExamples(page)
  expect(stored.map((r) => [r.label, r.source])).toEqual([[1, 'imported']])
  // Dark on white came in inverted: white on black, the bar upright and centred.
  const pixels = stored[0]!.features
  expect(pixels).toHaveLength(784)
  expect(pixels[0]).toBe(0)
  expect(pixels[14 * 28 + 14]).toBeGreaterThan(200)
  await screenshot(page, '32-import-refused')

  // Only bad files: nothing changes.
  const before = await shownCounts(page)
  await files.setInputFiles(bad)
  await page.getByRole('button', { name: 'Import' }).click()
  await expect(message).toContainText('Stored none of the 4 files. Refused 4 files:')
  expect(await shownCounts(page)).toEqual(before)
  expect(await storedExamples(page)).toHaveLength(1)

  // One digit for all, whatever the names.
  await page.getByLabel('Digit', { exact: true }).selectOption({ label: 'All are 8' })
  await files.setInputFiles([{ name: 'scan.png', mimeType: 'image/png', buffer: good }])
  await page.getByRole('button', { name: 'Import' }).click()
  await expect(message).toHaveText('Stored 1 of 1 file: digit 8.')
  await expect(page.locator('#counts li[data-label="8"]')).toHaveAttribute('data-count', '1')
  expect(await countOf(page, 1)).toBe(1)
})

test("try the model: a task's current model reads a drawn digit on the phone, offline too", async ({
  page,
  context,
}) => {
  const name = `Try digits ${crypto.randomUUID().slice(0, 8)}`
  const response = await fetch(`${url}/api/v1/tasks`, {
    method: 'POST',
    headers: { ...admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name,
      purpose: 'Read digits drawn on phones.',
      model: { preset: 'mnist-2nn' },
    }),
  })
  expect(response.status).toBe(201)
  const task = (await response.json()) as TaskView
  try {
    await openApp(page)
    // Offline before any use: no model kept yet, and it says so.
    await page.getByRole('link', { name: 'Try' }).click()
    await expect(page.getByRole('heading', { level: 1, name: 'Try the model' })).toBeFocused()
    const choose = page.getByLabel('The model of the task')
    await expect(choose.getByRole('option', { name })).toHaveCount(1)
    await choose.selectOption({ label: name })
    const pad = page.getByRole('img', { name: 'Drawing area for the digit to try' })
    const read = page.getByRole('button', { name: 'Read my digit' })
    const message = page.locator('#try-message')
    await read.click()
    await expect(message).toHaveText('The drawing area is empty: draw a digit first.')

    await context.setOffline(true)
    await drawWithFinger(page, pad, SEVEN)
    await read.click()
    await expect(message).toHaveText(
      /no connection to the coordinator, and this phone has not kept/,
    )
    await screenshot(page, '33-try-offline-no-model')
    await context.setOffline(false)

    // Online: the model is downloaded, kept, and run in the worker.
    await read.click()
    const probs = page
      .getByRole('list', { name: 'Probability of each digit' })
      .getByRole('listitem')
    await expect(probs).toHaveCount(10)
    await expect(page.locator('#try-model')).toContainText(
      `${name}: mnist-2nn, not trained yet (round 0). Downloaded now and kept on this phone.`,
    )
    const values = await probs.evaluateAll((items) =>
      items.map((li) => Number((li as HTMLElement).dataset.probability)),
    )
    expect(values).toHaveLength(10)
    expect(values.every((p) => p >= 0 && p <= 1)).toBe(true)
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4)
    const best = values.indexOf(Math.max(...values))
    await expect(page.locator('#try-digit')).toHaveText(String(best))
    await expect(probs.nth(best)).toHaveClass('best')
    await screenshot(page, '34-try-result')

    // The phone's reading is the model's: the same weights and the same 28x28 pixels (from the
    // preview of what the model saw), run here in Node on TF.js's CPU backend, agree.
    const blob = await fetch(`${url}/api/v1/models/${task.model.hash}`, { headers: admin })
    const weights = decodeContainer(new Uint8Array(await blob.arrayBuffer())).tensors
    await useBackend('cpu')
    /** The model's probabilities for the pixels the phone's preview shows it saw. */
    const reference = async () => {
      const seen = await page.locator('#try-preview').evaluate((canvas: HTMLCanvasElement) => {
        const rgba = canvas.getContext('2d')!.getImageData(0, 0, 28, 28).data
        return Array.from({ length: 784 }, (_, p) => rgba[p * 4]!)
      })
      return Array.from(
        await predict(
          buildModel({ preset: 'mnist-2nn' }),
          weights,
          Uint8Array.from(seen),
          [28, 28, 1],
        ),
      )
    }
    const online = await reference()
    for (let k = 0; k < 10; k++) expect(values[k]).toBeCloseTo(online[k]!, 3)

    const kept = await page.evaluate(
      () =>
        new Promise<{ hash: string; taskId: string }[]>((resolve, reject) => {
          const open = indexedDB.open('pollen')
          open.onerror = () => reject(open.error ?? new Error('open failed'))
          open.onsuccess = () => {
            const request = open.result.transaction('models').objectStore('models').getAll()
            request.onsuccess = () => {
              open.result.close()
              resolve(request.result as { hash: string; taskId: string }[])
            }
          }
        }),
    )
    expect(kept.map((m) => [m.hash, m.taskId])).toEqual([[task.model.hash, task.id]])

    // Again: the same hash, nothing downloaded.
    const downloads: string[] = []
    page.on('request', (r) => r.url().includes('/api/v1/models/') && downloads.push(r.url()))
    await read.click()
    await expect(page.locator('#try-model')).toContainText(
      'Kept on this phone: nothing downloaded.',
    )
    expect(downloads).toEqual([])

    // Offline now: the kept copy still reads the digit, the same way.
    await context.setOffline(true)
    await page.getByRole('button', { name: 'Clear' }).last().click()
    await expect(page.locator('#try-result')).toBeHidden()
    await drawWithMouse(page, pad, SEVEN)
    await read.click()
    await expect(page.locator('#try-model')).toContainText('Offline: the copy kept on this phone')
    await expect(probs).toHaveCount(10)
    // The same model's reading of what it saw this time: an untrained model's best guess can
    // change with a stroke drawn a pixel apart, so the reference is this drawing's, not the last.
    const offline = await reference()
    const offlineBest = offline.indexOf(Math.max(...offline))
    await expect(page.locator('#try-digit')).toHaveText(String(offlineBest))
    await screenshot(page, '35-try-offline-kept')
    await context.setOffline(false)
  } finally {
    await fetch(`${url}/api/v1/tasks/${task.id}`, { method: 'DELETE', headers: admin })
  }
})

test('try the model with no task offered: it says so, and there is nothing to press', async ({
  page,
}) => {
  // Other tests create tasks on this shared coordinator at the same time: stage its empty
  // answer for this page only.
  await page.route('**/api/v1/devices/tasks', (route) => route.fulfill({ json: { tasks: [] } }))
  await openApp(page)
  await page.getByRole('link', { name: 'Try' }).click()
  await expect(page.locator('#try-model')).toHaveText(
    'The coordinator offers no task that reads digits right now, so there is no model to try ' +
      'here. A data scientist has to start one first.',
  )
  await expect(page.getByLabel('The model of the task')).toBeDisabled()
  await expect(page.getByRole('button', { name: 'Read my digit' })).toBeDisabled()
  await screenshot(page, '36-try-no-task')
})
