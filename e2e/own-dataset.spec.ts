// Bring your own problem, on a phone (issue 16's acceptance): a data scientist declares a
// dataset of 32×32 colour pictures with three named classes and uploads its held-out set (a zip
// of PNGs, a folder per class); a phone adds examples from files and from the camera (Chromium's
// fake one), crops and labels them, joins a task on the small CNN and trains a round; the
// coordinator evaluates the round's model on the held-out set, by class name. No request the
// phone makes carries an example's bytes.
import { type Page, type Request, expect, test } from '@playwright/test'
import { encode } from 'fast-png'
import { zipSync } from 'fflate'
import type { RoundView, TaskView } from '../shared/protocol/index.ts'
import { joinTask, openApp, screenshot } from './app.ts'
import { createTask, deleteTask, rounds, uniqueName } from './coordinator.ts'
import { CHROMIUM_ARGS, chromiumLaunch, e2eEnvironment } from './environment.ts'

const { url, adminToken } = await e2eEnvironment()
const admin = { Authorization: `Bearer ${adminToken}` }

test.use({
  viewport: { width: 390, height: 844 },
  permissions: ['camera'],
  launchOptions: chromiumLaunch([
    ...CHROMIUM_ARGS,
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
  ]),
})
// A CNN round on this 2-core machine, beside the other e2e worker.
test.setTimeout(240_000)

const CLASSES = ['red', 'green', 'blue'] as const
type Colour = (typeof CLASSES)[number]

/** A seeded PRNG (mulberry32): the same pictures every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A PNG of `size` × `size` RGB whose class is its dominant colour: that channel high, the
 * others low, every pixel noisy (so the classes are learnable, but not from one pixel).
 */
function colourPng(colour: Colour, seed: number, size = 32): Uint8Array {
  const random = prng(seed)
  const data = new Uint8Array(size * size * 3)
  const main = CLASSES.indexOf(colour)
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) data[p * 3 + c] = c === main ? 150 + random() * 105 : random() * 110
  }
  return encode({ width: size, height: size, data, channels: 3, depth: 8 })
}

/** The held-out set: `perClass` PNGs in a folder per class. */
function heldOutZip(perClass: number): Uint8Array {
  const files: Record<string, Uint8Array> = {}
  for (const colour of CLASSES)
    for (let i = 0; i < perClass; i++) files[`${colour}/${i}.png`] = colourPng(colour, 1000 + i)
  return zipSync(files)
}

async function declareDataset(name: string): Promise<void> {
  const declared = await fetch(`${url}/api/v1/datasets`, {
    method: 'POST',
    headers: { ...admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name,
      description: 'Pictures of one colour each: red, green or blue.',
      tags: ['images', 'colours'],
      features: { kind: 'image', height: 32, width: 32, channels: 3 },
      classes: CLASSES,
      deviceLabelling: true,
    }),
  })
  expect(declared.status, await declared.clone().text()).toBe(201)
  const form = new FormData()
  form.append(
    'file',
    new Blob([heldOutZip(20) as Uint8Array<ArrayBuffer>], { type: 'application/zip' }),
    'held-out.zip',
  )
  const uploaded = await fetch(`${url}/api/v1/datasets/${name}/held-out`, {
    method: 'PUT',
    headers: admin,
    body: form,
  })
  expect(uploaded.status, await uploaded.clone().text()).toBe(200)
}

/** The stored examples' features, read from IndexedDB directly (not through the app). */
function storedFeatures(
  page: Page,
  dataset: string,
): Promise<{ label: number; bytes: number[] }[]> {
  return page.evaluate(
    (dataset) =>
      new Promise<{ label: number; bytes: number[] }[]>((resolve, reject) => {
        const open = indexedDB.open('pollen')
        open.onerror = () => reject(open.error ?? new Error('open failed'))
        open.onsuccess = () => {
          const db = open.result
          const request = db.transaction('examples').objectStore('examples').getAll()
          request.onerror = () => reject(request.error ?? new Error('getAll failed'))
          request.onsuccess = () => {
            db.close()
            const records = request.result as {
              dataset: string
              label: number
              features: Uint8Array
            }[]
            resolve(
              records
                .filter((r) => r.dataset === dataset)
                .map((r) => ({ label: r.label, bytes: Array.from(r.features) })),
            )
          }
        }
      }),
    dataset,
  )
}

test('a phone adds, crops and labels pictures of a dataset of its own, and trains a CNN on them', async ({
  page,
  context,
}) => {
  const dataset = `colours-${crypto.randomUUID().slice(0, 8)}`
  await declareDataset(dataset)
  const taskName = uniqueName('Colours')
  const task: TaskView = await createTask({
    name: taskName,
    purpose: 'Tell red, green and blue pictures apart.',
    dataset,
    model: { preset: 'cifar-cnn' },
    train: { localEpochs: 1, batchSize: 4, learningRate: 0.05 },
    rounds: { total: 3, clientsPerRound: 1, minReports: 1, deadlineSeconds: 180 },
  })
  try {
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))
    // Every request of the phone's context (the page, its workers, the service worker).
    const seen: { request: Request; body: Buffer | null }[] = []
    context.on('request', (request) => seen.push({ request, body: request.postDataBuffer() }))

    await openApp(page)
    const card = page.getByRole('region', { name: dataset })
    await expect(card).toBeVisible()
    await expect(card).toContainText('No examples yet.')
    await expect(card).toContainText('Pictures of one colour each')

    // From files: three of each colour, each labelled as it comes up.
    const files = CLASSES.flatMap((colour) =>
      [0, 1, 2].map((i) => ({
        name: `${colour}-${i}.png`,
        mimeType: 'image/png',
        buffer: Buffer.from(colourPng(colour, 10 * CLASSES.indexOf(colour) + i, 48)),
      })),
    )
    await card.getByLabel('Or choose image files').setInputFiles(files)
    const picture = card.getByRole('img', { name: /^The picture/ })
    const classSelect = card.getByRole('combobox', { name: 'Class of this picture' })
    const said = card.locator('.add-images .message')
    for (const [i, file] of files.entries()) {
      await expect(card.locator('.queue')).toHaveText(`Picture ${i + 1} of 9: ${file.name}`)
      await expect(picture).toBeVisible()
      if (i === 0) await screenshot(page, '70-own-dataset-crop')
      await classSelect.selectOption({ label: file.name.split('-')[0]! })
      await card.getByRole('button', { name: 'Save' }).click()
      await expect(said).toHaveText(`Saved ${file.name} as “${file.name.split('-')[0]}”.`)
    }

    // From the camera: a photo, framed by the keyboard, labelled green.
    await card.getByRole('button', { name: 'Take a photo' }).click()
    await expect(card.getByLabel('Camera preview')).toBeVisible()
    await card.getByRole('button', { name: 'Capture' }).click()
    await expect(card.locator('.queue')).toHaveText('Photo')
    await picture.focus()
    await page.keyboard.press('ArrowRight')
    await classSelect.selectOption({ label: 'green' })
    await card.getByRole('button', { name: 'Save' }).click()
    await expect(said).toHaveText('Saved Photo as “green”.')

    // Counts per class, by name.
    const counts = card.getByRole('list', { name: `Examples per class of ${dataset}` })
    const row = (label: number) => counts.locator(`li[data-label="${label}"]`)
    await expect(row(0)).toHaveAttribute('data-count', '3')
    await expect(row(1)).toHaveAttribute('data-count', '4')
    await expect(row(2)).toHaveAttribute('data-count', '3')
    await expect(row(1)).toContainText('green')
    await expect(card).toContainText('10 examples.')
    const stored = await storedFeatures(page, dataset)
    expect(stored).toHaveLength(10)
    expect(stored.every((e) => e.bytes.length === 32 * 32 * 3)).toBe(true)
    // Phone size: nothing scrolls sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await screenshot(page, '71-own-dataset-counts')

    // Join the task: the phone trains a round of the CNN on its ten pictures.
    await joinTask(page, taskName)
    await expect(page.locator('#contribute-last')).toContainText('accepted', { timeout: 180_000 })
    await screenshot(page, '72-own-dataset-trained')

    // The coordinator committed it and evaluated it on the held-out set, by class name.
    let committed: RoundView | undefined
    await expect
      .poll(
        async () => {
          committed = (await rounds(task.id)).find((r) => r.status === 'committed')
          return committed?.accuracy ?? null
        },
        { timeout: 60_000 },
      )
      .not.toBeNull()
    expect(Object.keys(committed!.accuracyByClass ?? {})).toEqual([...CLASSES])

    // No request carried an example's bytes.
    const uploads = seen.filter((s) => /\/updates$/.test(new URL(s.request.url()).pathname))
    expect(uploads.length).toBeGreaterThan(0)
    for (const { request, body } of seen) {
      if (!body) continue
      for (const example of stored)
        expect(body.indexOf(Buffer.from(example.bytes)), request.url()).toBe(-1)
    }
    expect(problems).toEqual([])
  } finally {
    await deleteTask(task.id)
    await fetch(`${url}/api/v1/datasets/${dataset}`, { method: 'DELETE', headers: admin })
  }
})
