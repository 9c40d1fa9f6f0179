// The embeddable client on another origin: examples/plant-journal served by a second HTTP server
// (another port, so another origin) imports /embed/pollen.js from the coordinator, adds the
// journal's entries to a tabular dataset of its own, shows a task's consent terms, agrees, and
// trains a round in the coordinator's training worker, started cross-origin; the coordinator
// accepts the update and commits the round. No request carries an example.
import { expect, test, type Request } from '@playwright/test'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CheckinRequest, DatasetSpecInput } from '../shared/protocol/index.ts'
import { createTask, rounds, uniqueName } from './coordinator.ts'
import { e2eEnvironment, freePort } from './environment.ts'

const { url, adminToken } = await e2eEnvironment()
const EXAMPLE_DIR = fileURLToPath(new URL('../examples/plant-journal/', import.meta.url))
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
}

/** The web app's own server: static files from examples/plant-journal, nothing else. */
async function serveExample(): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const file = normalize(join(EXAMPLE_DIR, path === '/' ? 'index.html' : path))
    if (!file.startsWith(EXAMPLE_DIR)) return void res.writeHead(404).end()
    readFile(file).then(
      (body) =>
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'text/plain' }).end(body),
      () => res.writeHead(404).end(),
    )
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { origin: `http://127.0.0.1:${port}`, server }
}

/** The dataset of the example's README, under a name unique to this run. */
const dataset = (name: string): DatasetSpecInput => ({
  name,
  description: 'How house plants look, from their owners’ journals.',
  tags: ['plants', 'tabular'],
  features: {
    kind: 'tabular',
    columns: [
      { name: 'moisture', scaling: { kind: 'minmax', min: 0, max: 100 } },
      { name: 'temperature', scaling: { kind: 'standard', mean: 20, std: 6 } },
      { name: 'light', scaling: { kind: 'minmax', min: 0, max: 24 } },
    ],
  },
  classes: ['fine', 'thirsty', 'drowning'],
})

/** Journal entries a plant owner might write: dry soil thirsty, soaked soil drowning. */
const ENTRIES = Array.from({ length: 12 }, (_, i) => ({
  moisture: [12, 45, 88][i % 3]! + (i % 4),
  temperature: 18 + (i % 5),
  light: 4 + (i % 7),
  state: ['thirsty', 'fine', 'drowning'][i % 3]!,
}))

test('a web app on another origin trains a round through the embeddable client', async ({
  page,
}) => {
  test.setTimeout(180_000)
  const name = `plant-journal-${crypto.randomUUID().slice(0, 8)}`
  const declared = await fetch(`${url}/api/v1/datasets`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(dataset(name)),
  })
  expect(declared.status, await declared.clone().text()).toBe(201)
  const task = await createTask({
    name: uniqueName('Plant care'),
    purpose: 'Tell when a plant needs water, from what owners note in their journals.',
    model: { preset: 'tabular-mlp' },
    dataset: name,
    train: { localEpochs: 1, batchSize: 4 },
    rounds: { total: 1, clientsPerRound: 1, minReports: 1, deadlineSeconds: 120 },
  })

  const { origin, server } = await serveExample()
  const toCoordinator: { request: Request; body: Buffer | null }[] = []
  page.on('request', (request) => {
    if (request.url().startsWith(url))
      toCoordinator.push({ request, body: request.postDataBuffer() })
  })
  try {
    await page.goto(
      `${origin}/index.html?coordinator=${encodeURIComponent(url)}&dataset=${encodeURIComponent(name)}`,
    )
    await expect(page.locator('#status')).toContainText(`dataset “${name}”`)

    // The app's own data, then shared with Pollen.
    for (const entry of ENTRIES) {
      await page.getByLabel('Soil moisture (%)').fill(String(entry.moisture))
      await page.getByLabel('Temperature (°C)').fill(String(entry.temperature))
      await page.getByLabel('Light (hours a day)').fill(String(entry.light))
      await page.getByLabel('How it looked').selectOption(entry.state)
      await page.getByRole('button', { name: 'Add to the journal' }).click()
    }
    await expect(page.locator('#journal')).toContainText(
      '12 entries in your journal, 12 not shared',
    )
    await page.getByRole('button', { name: 'Share my journal with Pollen' }).click()
    await expect(page.locator('#counts')).toHaveText(
      'Pollen holds 12 of your examples (fine: 4, thirsty: 4, drowning: 4).',
    )

    // The consent terms, then agreeing.
    const card = page.locator('.task', { hasText: task.name })
    await expect(card).toContainText(task.purpose)
    await expect(card).toContainText('never your examples')
    await card.getByRole('button', { name: 'Agree and join' }).click()
    await expect(card.getByRole('button', { name: 'Withdraw' })).toBeVisible()

    await page.getByRole('button', { name: 'Train' }).click()
    await expect(page.locator('#log')).toContainText('Training worker started on', {
      timeout: 60_000,
    })
    await expect(page.locator('#log')).toContainText('Round 1: update accepted', {
      timeout: 120_000,
    })
    await expect
      .poll(async () => (await rounds(task.id)).find((r) => r.round === 1)?.status, {
        timeout: 60_000,
      })
      .toBe('committed')
    const [round] = await rounds(task.id)
    expect(round!.reported).toBe(1)

    // Stop, and withdraw: the card offers to join again.
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect(page.locator('#status')).toHaveText('Stopped.')
    await card.getByRole('button', { name: 'Withdraw' }).click()
    await expect(card.getByRole('button', { name: 'Agree and join' })).toBeVisible()

    // What went to the coordinator: the module, its chunks and worker, the device protocol.
    const paths = toCoordinator.map(({ request }) => new URL(request.url()).pathname)
    expect(paths).toContain('/embed/pollen.js')
    expect(paths.some((p) => /^\/assets\/worker-[\w-]+\.js$/.test(p))).toBe(true)
    expect(paths).toContain(`/api/v1/devices/datasets/${name}`)
    expect(paths.some((p) => p.endsWith('/rounds/1/updates'))).toBe(true)
    for (const p of paths)
      expect(p).toMatch(
        /^\/(embed\/pollen\.js|assets\/[\w.-]+|api\/v1\/(devices(\/checkin|\/tasks)?|devices\/datasets\/[\w.-]+|models\/[0-9a-f]{64}|tasks\/[\w-]+\/rounds\/\d+\/updates))$/,
      )
    // Check-ins declare counts only.
    const checkins = toCoordinator.filter(({ request }) => request.url().endsWith('/checkin'))
    expect(checkins.length).toBeGreaterThan(0)
    for (const { body } of checkins) {
      const sent = JSON.parse(body!.toString()) as CheckinRequest
      expect(sent.datasets).toEqual([{ name, examples: 12, labels: [4, 4, 4] }])
      expect(sent.consents).toEqual([task.id])
    }
    // No body carries an entry's row as the model reads it (float32, scaled).
    for (const e of ENTRIES) {
      const row = Buffer.from(
        new Float32Array([e.moisture / 100, (e.temperature - 20) / 6, e.light / 24]).buffer,
      )
      for (const { body } of toCoordinator) if (body) expect(body.includes(row)).toBe(false)
    }
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

test('the embeddable client refuses bad examples whole, and a dataset nobody declared', async ({
  page,
}) => {
  const name = `plant-journal-${crypto.randomUUID().slice(0, 8)}`
  const declared = await fetch(`${url}/api/v1/datasets`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(dataset(name)),
  })
  expect(declared.status).toBe(201)
  const { origin, server } = await serveExample()
  try {
    // The example page, as the origin the module runs in; the test calls the module itself.
    await page.goto(`${origin}/index.html?coordinator=${encodeURIComponent(url)}&dataset=${name}`)
    const got = await page.evaluate(
      async ({ url, name }) => {
        type Pollen = {
          addExamples(e: unknown[]): Promise<unknown>
          counts(): Promise<{ examples: number }>
          close(): Promise<void>
        }
        type Connect = (o: { coordinator: string; dataset: string }) => Promise<Pollen>
        const { connect } = (await import(`${url}/embed/pollen.js`)) as { connect: Connect }
        const refused = async (work: () => Promise<unknown>) => {
          try {
            await work()
            return null
          } catch (error) {
            const e = error as { code: string; field: string; message: string }
            return { code: e.code, field: e.field, message: e.message }
          }
        }
        const pollen = await connect({ coordinator: url, dataset: name })
        const good = { features: { moisture: 40, temperature: 21, light: 8 }, label: 'fine' }
        const results = [
          await refused(() =>
            pollen.addExamples([good, { features: { moisture: 40, light: 8 }, label: 'fine' }]),
          ),
          await refused(() => pollen.addExamples([good, { ...good, label: 'wilted' }])),
          await refused(() => pollen.addExamples([{ features: [40, 'warm', 8], label: 0 }])),
          await refused(() => connect({ coordinator: url, dataset: `${name}-nope` })),
          await refused(() => connect({ coordinator: 'javascript:alert(1)', dataset: name })),
        ]
        const held = (await pollen.counts()).examples
        await pollen.close()
        return { results, held }
      },
      { url, name },
    )
    expect(got.results).toEqual([
      {
        code: 'invalid_request',
        field: 'examples[1].features.temperature',
        message: 'examples[1].features.temperature: missing',
      },
      {
        code: 'invalid_request',
        field: 'examples[1].label',
        message: 'examples[1].label: "wilted" is none of the classes (fine, thirsty, drowning)',
      },
      {
        code: 'invalid_request',
        field: 'examples[0].features[1] (temperature)',
        message: 'examples[0].features[1] (temperature): must be a finite number, got string',
      },
      {
        code: 'not_found',
        field: 'dataset',
        message: `dataset: ${url}/ declares no dataset "${name}-nope"`,
      },
      {
        code: 'invalid_request',
        field: 'coordinator',
        message: "coordinator: must be the coordinator's http(s) URL, got javascript:alert(1)",
      },
    ])
    // Nothing of a refused batch was kept.
    expect(got.held).toBe(0)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})
