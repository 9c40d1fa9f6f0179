// The data scientist's dashboard at /dashboard, in real Chromium, against real coordinators: each
// test starts its own (a child process on a free port with a temp data dir) so the simulated
// devices train only its tasks, and so it can kill and restart the coordinator under the page.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test, type Locator, type Page } from '@playwright/test'
import type { RoundView, TaskView } from '../shared/protocol/index.ts'
import { openApp, screenshot, waitForServiceWorker } from './app.ts'
import { createTask, deleteTask, uniqueName } from './coordinator.ts'
import { e2eEnvironment, freePort } from './environment.ts'

const TOKEN = `dashboard-e2e-${crypto.randomUUID()}`

/** A coordinator of this test's own: `npm start`'s entry in a child process. */
async function ownCoordinator() {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const dataDir = await mkdtemp(join(tmpdir(), 'pollen-dashboard-e2e-'))
  const output: string[] = []
  let child: ChildProcess | null = null

  const start = async () => {
    const started = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        POLLEN_DATA: dataDir,
        POLLEN_ADMIN_TOKEN: TOKEN,
        POLLEN_DEMO: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    started.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()))
    started.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()))
    child = started
    const deadline = Date.now() + 120_000
    for (;;) {
      if (started.exitCode !== null) throw new Error(`the coordinator exited:\n${output.join('')}`)
      const healthy = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
      if (healthy) return
      if (Date.now() > deadline) throw new Error(`no /healthz within 120 s:\n${output.join('')}`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  /** SIGKILL: the event stream is cut, as by a crash or a pulled cable, not closed politely. */
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const running = child
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const exited = once(running, 'exit')
    running.kill(signal)
    await exited
  }

  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true)
    return (await response.json()) as T
  }

  await start()
  return {
    url,
    start,
    kill,
    admin,
    tasks: async () => (await admin<{ tasks: TaskView[] }>('GET', '/tasks')).tasks,
    rounds: async (id: string) =>
      (await admin<{ rounds: RoundView[] }>('GET', `/tasks/${id}/rounds`)).rounds,
    async stop() {
      await kill('SIGTERM')
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
type Own = Awaited<ReturnType<typeof ownCoordinator>>

/** `npm run sim`: simulated phones (headless device runtimes) training against `server`. */
function simulator(server: string, clients = 4) {
  const output: string[] = []
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'client/simulator/main.ts',
      '--server',
      server,
      '--clients',
      String(clients),
      '--partition',
      'iid',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()))
  return {
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** Opens the dashboard of `own`, gives it the token, and waits until its stream is live. */
async function openDashboard(page: Page, own: Own): Promise<void> {
  await page.goto(`${own.url}/dashboard`)
  await page.getByLabel('Admin token').fill(TOKEN)
  await page.getByRole('button', { name: 'Connect' }).click()
  await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible()
}

const roundShown = async (page: Page) =>
  Number((await page.locator('#round-number').getAttribute('data-round')) ?? 0)
const chartPoints = async (page: Page, id: string) =>
  Number((await page.locator(`#chart-${id}`).getAttribute('data-points')) ?? 0)

/** A mark on the window: still there later means the page was never reloaded. */
const markPage = (page: Page) =>
  page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true))
const pageWasKept = (page: Page) =>
  page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere === true)

test("the phone app's service worker leaves /dashboard to the coordinator", async ({ page }) => {
  // A browser that once opened the phone app has its service worker, which answers navigations
  // with the app's shell from the precache: not this one.
  await openApp(page)
  await waitForServiceWorker(page)
  await page.goto('/dashboard')
  await expect(page).toHaveTitle('Pollen dashboard')
  await expect(page.getByLabel('Admin token')).toBeVisible()
  // Phones do not download the dashboard: it is not in the precache list.
  const worker = await (await page.request.get('/sw.js')).text()
  expect(worker).toMatch(/"url":"index\.html"/)
  expect(worker).not.toMatch(/"url":"[^"]*dashboard/)
})

test('a wrong token is refused, and the right one is kept for the tab', async ({ page }) => {
  const own = await ownCoordinator()
  try {
    await page.goto(`${own.url}/dashboard`)
    await page.getByLabel('Admin token').fill('not-the-token')
    await page.getByRole('button', { name: 'Connect' }).click()
    await expect(page.getByRole('alert')).toHaveText('The coordinator refused this admin token.')
    await screenshot(page, '60-dashboard-token-refused', { fullPage: false })
    await page.getByLabel('Admin token').fill(TOKEN)
    await page.getByRole('button', { name: 'Connect' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible()
    await expect(page.getByText('No tasks yet')).toBeVisible()
    // A reload asks no token again (sessionStorage), and the phone URL is the one the coordinator
    // printed (GET /api/v1/join; listening on loopback only, it has no LAN address).
    await page.reload()
    await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible()
    const printed = `${own.url.replace('127.0.0.1', 'localhost')}/`
    await expect(page.getByLabel('Phone URL')).toHaveValue(printed)
    await expect(page.getByRole('img', { name: `QR code of ${printed}` })).toBeVisible()
  } finally {
    await own.stop()
  }
})

test('while the simulator trains, the round counter and charts advance without a reload', async ({
  page,
}) => {
  test.setTimeout(240_000)
  const own = await ownCoordinator()
  const name = uniqueName('Watched digits')
  const task = await own.admin<TaskView>('POST', '/tasks', {
    name,
    purpose: 'Read handwritten digits, watched live.',
    model: { preset: 'mnist-2nn' },
    rounds: { total: 500, clientsPerRound: 3, minReports: 2, deadlineSeconds: 60, overSelect: 1 },
  })
  const sim = simulator(own.url, 4)
  try {
    await openDashboard(page, own)
    await markPage(page)
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible()

    // Rounds commit and the page follows, from the event stream alone.
    await expect.poll(() => roundShown(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(3)
    const round = await roundShown(page)
    const points = await chartPoints(page, 'metrics-round')
    expect(points).toBeGreaterThanOrEqual(1)
    await expect.poll(() => roundShown(page), { timeout: 60_000 }).toBeGreaterThan(round)
    await expect
      .poll(() => chartPoints(page, 'metrics-round'), { timeout: 60_000 })
      .toBeGreaterThan(points)
    expect(await pageWasKept(page)).toBe(true)
    // The accuracy it shows is the coordinator's.
    const committed = (await own.rounds(task.id)).filter((r) => r.status === 'committed')
    expect(committed.length).toBeGreaterThanOrEqual(points)
    await expect(page.locator('#chart-metrics-round')).toContainText(/accuracy \d+\.\d%/)
    await expect(page.getByRole('list', { name: 'Devices in the round' })).toBeVisible()
    await expect(page.locator('#datasets [data-name="mnist"]')).toContainText(
      'on 4 active devices (4 enrolled)',
    )

    // The rounds as CSV: a header and one line per round the page knew.
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export rounds (CSV)' }).click(),
    ])
    const lines = (await readFile(await csv.path(), 'utf8')).trimEnd().split('\r\n')
    expect(lines[0]).toMatch(/^task,taskId,round,status,/)
    expect(lines.length - 1).toBeGreaterThanOrEqual(round)
    expect(lines[1]).toContain(`,${task.id},1,committed,`)

    // The global model in TF.js format: model.json naming the weights file saved beside it.
    const downloads: { name: string; path: string }[] = []
    page.on(
      'download',
      (d) => void d.path().then((path) => downloads.push({ name: d.suggestedFilename(), path })),
    )
    await page.getByRole('button', { name: 'Download model' }).click()
    await expect.poll(() => downloads.length).toBe(2)
    const json = downloads.find((d) => d.name.endsWith('.json'))!
    const bin = downloads.find((d) => d.name.endsWith('.weights.bin'))!
    const modelJson = JSON.parse(await readFile(json.path, 'utf8')) as {
      weightsManifest: { paths: string[] }[]
    }
    expect(modelJson.weightsManifest[0]!.paths).toEqual([bin.name])
    expect((await readFile(bin.path)).byteLength).toBe(199_210 * 4)

    await page.setViewportSize({ width: 1440, height: 1000 })
    await page.getByRole('heading', { level: 1, name }).scrollIntoViewIfNeeded()
    await screenshot(page, '61-dashboard-training-1440')
    await page.setViewportSize({ width: 390, height: 844 })
    await screenshot(page, '62-dashboard-training-390')
  } finally {
    await sim.stop()
    await own.stop()
  }
})

test('a task created through the form appears in the API; pausing it stops new rounds', async ({
  page,
}) => {
  test.setTimeout(240_000)
  const own = await ownCoordinator()
  const name = uniqueName('Formed digits')
  let sim: ReturnType<typeof simulator> | null = null
  try {
    await openDashboard(page, own)
    await page.getByText('New task').click()
    await page.getByLabel('Name', { exact: true }).fill(name)
    await page.getByLabel('Purpose').fill('Made from the dashboard form.')
    await page.getByLabel('Model', { exact: true }).selectOption('mnist-2nn')
    await page.getByLabel('Rounds to commit').fill('500')
    await page.getByLabel('Devices per round', { exact: true }).first().fill('2')
    await page.getByLabel('Deadline (seconds)').first().fill('60')
    // More reports than devices per round: the coordinator refuses and names the field.
    await page.getByLabel('Fewest reports to commit').fill('5')
    await page.getByRole('button', { name: 'Create task' }).click()
    const errors = page.locator('#create-errors')
    // In the form's words: its labels, not the API's names.
    await expect(errors).toContainText(
      'Fewest reports to commit: must be at most devices per round (2)',
    )
    await expect(errors).not.toContainText('clientsPerRound')
    await expect(page.getByLabel('Fewest reports to commit')).toHaveAttribute(
      'aria-invalid',
      'true',
    )
    await expect(page.getByLabel('Fewest reports to commit')).toBeFocused()
    await screenshot(page, '63-dashboard-form-refused')
    expect((await own.tasks()).length).toBe(0)

    await page.getByLabel('Fewest reports to commit').fill('1')
    await page.getByRole('button', { name: 'Create task' }).click()
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible()
    const [task] = await own.tasks()
    expect(task).toMatchObject({
      name,
      purpose: 'Made from the dashboard form.',
      status: 'running',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 500, clientsPerRound: 2, minReports: 1, deadlineSeconds: 60 },
    })

    sim = simulator(own.url, 3)
    await expect.poll(() => roundShown(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(3)

    await page.getByRole('button', { name: 'Pause' }).click()
    await expect(page.locator('#task-status')).toHaveText('Paused')
    await expect(page.getByRole('button', { name: 'Resume' })).toBeVisible()
    expect((await own.tasks())[0]!.status).toBe('paused')
    // The open round still closes if devices were in it (one nobody joined waits, without a
    // deadline); after that, nothing opens while the devices keep asking.
    const settled = async () =>
      (await own.rounds(task!.id)).every((r) => r.status !== 'open' || r.selected === 0)
    await expect.poll(settled, { timeout: 90_000 }).toBe(true)
    const paused = (await own.rounds(task!.id)).length
    await page.waitForTimeout(6_000)
    const after = await own.rounds(task!.id)
    expect(after.length).toBe(paused)
    expect(after.filter((r) => r.status === 'open' && r.selected > 0)).toEqual([])
    await expect(page.locator('#round-number')).toHaveAttribute('data-round', String(paused))
    await screenshot(page, '64-dashboard-paused')

    // Steering the next rounds: a new deadline and number of devices, then resume.
    await page.getByLabel('Deadline (seconds)').last().fill('45')
    await page.getByRole('button', { name: 'Apply to next rounds' }).click()
    await expect(page.locator('#settings-message')).toContainText('deadline 45 s')
    expect((await own.tasks())[0]!.rounds.deadlineSeconds).toBe(45)
    await page.getByRole('button', { name: 'Resume' }).click()
    await expect(page.locator('#task-status')).toHaveText('Running')
    await expect.poll(() => roundShown(page), { timeout: 60_000 }).toBeGreaterThan(paused)
  } finally {
    await sim?.stop()
    await own.stop()
  }
})

test('a task made from an uploaded TF.js model.json has that topology; a file that is none is refused', async ({
  page,
}) => {
  // On the run's shared coordinator: no devices are needed to create a task.
  const { url, adminToken } = await e2eEnvironment()
  const admin = { Authorization: `Bearer ${adminToken}` }
  const source = await createTask({
    name: uniqueName('Topology source'),
    purpose: 'Train a digit reader; only weight updates leave the phone.',
    model: { preset: 'mnist-2nn' },
  })
  const modelJson = await (
    await fetch(`${url}/api/v1/tasks/${source.id}/model`, { headers: admin })
  ).text()
  await deleteTask(source.id)
  const name = uniqueName('Uploaded topology')
  let created: TaskView | undefined
  try {
    await page.goto('/dashboard')
    await page.getByLabel('Admin token').fill(adminToken)
    await page.getByRole('button', { name: 'Connect' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible()
    await page.getByText('New task').click()
    await page.getByLabel('Name', { exact: true }).fill(name)
    await page.getByLabel('Purpose').fill('A model uploaded as TF.js files.')
    await page.getByLabel('Model', { exact: true }).selectOption('custom')
    const file = page.getByLabel('TF.js model.json or topology')
    // Not a model: refused by the page, naming the field.
    await file.setInputFiles({
      name: 'notes.json',
      mimeType: 'application/json',
      buffer: Buffer.from('{"layers": []}'),
    })
    await page.getByRole('button', { name: 'Create task' }).click()
    await expect(page.locator('#create-errors')).toContainText(
      'TF.js model.json or topology: no TF.js Layers topology',
    )
    await file.setInputFiles({
      name: 'model.json',
      mimeType: 'application/json',
      buffer: Buffer.from(modelJson),
    })
    await page.getByRole('button', { name: 'Create task' }).click()
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible()
    const tasks = (await (await fetch(`${url}/api/v1/tasks`, { headers: admin })).json()) as {
      tasks: TaskView[]
    }
    created = tasks.tasks.find((t) => t.name === name)
    expect(created?.model).toMatchObject({ preset: 'custom', parameters: 199_210 })
    await expect(page.locator('#task-facts')).toContainText(
      'custom (199,210 weights, 778.2 KiB per update)',
    )
  } finally {
    if (created) await deleteTask(created.id)
  }
})

test('a private task made through the form: ε shown as it is typed, a refused mode beside its field', async ({
  page,
}) => {
  // Its own coordinator: no devices of other tests may fall into a secure round.
  const own = await ownCoordinator()
  const name = uniqueName('Private digits')
  try {
    await openDashboard(page, own)
    await page.getByText('New task').click()
    await page.getByLabel('Name', { exact: true }).fill(name)
    await page.getByLabel('Purpose').fill('Digits, with differential privacy.')
    const clip = page.getByLabel('Clip norm C')
    await expect(clip).toBeHidden()
    await page.getByLabel('Differential privacy').check()
    await clip.fill('1')
    await page.getByLabel('Noise multiplier σ').fill('1.1')
    await page.getByLabel('ε budget').fill('8')
    await page.getByLabel('Population (optional)').fill('1000')
    // The defaults select ⌈1.3 × 10⌉ = 13 devices a round, out of 1000.
    const spend = page.locator('#create-dp-spend')
    await expect(spend).toContainText('One round: ε')
    await expect(spend).toContainText('q = 13/1000')
    await expect(spend).toContainText('Within the budget of 8.')
    await page.getByLabel('Noise added by').selectOption('distributed')

    // Distributed noise without secure aggregation: refused, beside the field that says it.
    await page.getByRole('button', { name: 'Create task' }).click()
    const mode = page.getByLabel('Noise added by')
    await expect(page.locator('#create-errors')).toContainText(
      'Noise added by: "distributed" needs',
    )
    await expect(mode).toHaveAttribute('aria-invalid', 'true')
    await expect(mode).toBeFocused()
    await expect(page.locator('#create-dp-mode-error')).toContainText(
      'needs secure aggregation (the coordinator sees only sums)',
    )
    await expect(page.locator('#create-errors')).not.toContainText('privacy.mode')
    await expect(mode).toHaveAccessibleDescription(
      /needs secure aggregation \(the coordinator sees only sums\): without it/,
    )
    expect(await own.tasks()).toEqual([])

    await page.getByLabel('Secure aggregation (the coordinator sees only sums)').check()
    await page.getByLabel('Threshold (optional)').fill('0.7')
    await page.getByRole('button', { name: 'Create task' }).click()
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible()
    const [task] = await own.tasks()
    expect(task).toMatchObject({
      name,
      privacy: { clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5, epsilonBudget: 8 },
      secureAggregation: { threshold: 0.7 },
      aggregation: { weighting: 'uniform' },
    })
    expect(task!.privacy).toMatchObject({ mode: 'distributed', population: 1000 })
    const facts = page.locator('#task-facts')
    await expect(facts).toContainText('DP (distributed, clip 1, σ 1.1)')
    await expect(facts).toContainText('secure aggregation')
    // The form starts over closed: its privacy settings hidden again.
    await page.getByText('New task').click()
    await expect(clip).toBeHidden()
    await expect(page.getByLabel('Differential privacy')).not.toBeChecked()
  } finally {
    await own.stop()
  }
})

test('a cut event stream reconnects after the coordinator restarts, and catches up', async ({
  page,
}) => {
  test.setTimeout(180_000)
  const own = await ownCoordinator()
  try {
    const before = await own.admin<TaskView>('POST', '/tasks', {
      name: uniqueName('Before the restart'),
      purpose: 'Seen before the coordinator restarts.',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 5, clientsPerRound: 2, deadlineSeconds: 60 },
    })
    await openDashboard(page, own)
    await expect(page.getByRole('heading', { level: 1, name: before.name })).toBeVisible()
    await markPage(page)

    // Hold the page's reconnections until the coordinator has changed behind its back.
    await page.route('**/api/v1/events**', (route) => route.abort('connectionrefused'))
    await own.kill()
    await expect(page.locator('#connection')).toHaveText(/Reconnecting|Connecting/)
    await screenshot(page, '65-dashboard-reconnecting', { fullPage: false })
    await own.start()
    const after = await own.admin<TaskView>('POST', '/tasks', {
      name: uniqueName('After the restart'),
      purpose: 'Created while the page was cut off.',
      model: { preset: 'mnist-cnn' },
      rounds: { total: 5, clientsPerRound: 2, deadlineSeconds: 60 },
    })
    await own.admin('PATCH', `/tasks/${before.id}`, { status: 'paused' })
    await page.unroute('**/api/v1/events**')

    // The next attempt gets through: ready, then the tasks and rounds fetched afresh.
    await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible({
      timeout: 30_000,
    })
    const list = page.getByRole('list', { name: 'Tasks' })
    await expect(list.getByRole('button', { name: new RegExp(after.name) })).toBeVisible()
    await expect(list.getByRole('button', { name: new RegExp(before.name) })).toContainText(
      'Paused',
    )
    expect(await pageWasKept(page)).toBe(true)

    // Live again, not just caught up: a change now arrives by the stream.
    await own.admin('PATCH', `/tasks/${after.id}`, { status: 'paused' })
    await expect(list.getByRole('button', { name: new RegExp(after.name) })).toContainText('Paused')
    await list.getByRole('button', { name: new RegExp(after.name) }).click()
    await expect(page.getByRole('heading', { level: 1, name: after.name })).toBeFocused()
    await expect(page.locator('#round-number')).toHaveAttribute('data-round', '1')
  } finally {
    await own.stop()
  }
})

/**
 * Both widths, as `dashboard-<name>-390.png` and `-1440.png` (whole pages), with `subject`
 * scrolled into view; the page is left at 390 px.
 */
async function screens(page: Page, name: string, subject?: Locator) {
  await page.setViewportSize({ width: 1440, height: 1000 })
  await subject?.scrollIntoViewIfNeeded()
  await screenshot(page, `dashboard-${name}-1440`)
  await page.setViewportSize({ width: 390, height: 844 })
  await subject?.scrollIntoViewIfNeeded()
  await screenshot(page, `dashboard-${name}-390`)
  // What a phone shows first, at a size that can be read without zooming out.
  await screenshot(page, `dashboard-${name}-390-screen`, { fullPage: false })
}

/**
 * The page's width beyond the viewport (0 when nothing scrolls sideways), or beyond a card:
 * content spilling past its card's edge is as broken, even where the page does not scroll.
 */
const sidewaysScroll = (page: Page) =>
  page.evaluate(() =>
    Math.max(
      document.documentElement.scrollWidth - window.innerWidth,
      ...[...document.querySelectorAll<HTMLElement>('.card:not([hidden])')].map(
        (card) => card.scrollWidth - card.clientWidth,
      ),
    ),
  )

test("a trained task at 390 px: no sideways scroll, each round's model, the confusion matrix, clone, steer and delete", async ({
  page,
}) => {
  test.setTimeout(300_000)
  const own = await ownCoordinator()
  const name = uniqueName('Finished digits')
  const task = await own.admin<TaskView>('POST', '/tasks', {
    name,
    purpose: 'Digits trained for three rounds, then looked at.',
    model: { preset: 'mnist-2nn' },
    rounds: { total: 3, clientsPerRound: 2, minReports: 2, deadlineSeconds: 60, overSelect: 1 },
  })
  const sim = simulator(own.url, 2)
  try {
    await expect
      .poll(async () => (await own.tasks())[0]?.status, { timeout: 180_000 })
      .toBe('completed')
    await sim.stop()
    await page.setViewportSize({ width: 390, height: 844 })
    await openDashboard(page, own)
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible()

    // The name shows on a phone, and nothing scrolls sideways, the wide tables included.
    await expect(page.locator('header .brand')).toBeVisible()
    await expect(page.locator('header .sub')).toBeVisible()
    await expect(page.locator('#by-round tbody tr')).toHaveCount(3)
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    expect(await sidewaysScroll(page)).toBe(0)

    // The list and the panel say the same round.
    await expect(page.locator('#task-list .task-progress')).toHaveText('round 3 · 3 of 3 committed')
    await expect(page.locator('#round-number')).toHaveText('3')
    // Charts of closed rounds only, waiting for devices apart from training.
    for (const id of ['metrics-round', 'loss-round', 'waiting', 'duration', 'bytes'])
      await expect.poll(() => chartPoints(page, id)).toBe(3)
    await expect(page.locator('#chart-loss-round')).toContainText(
      /held-out loss \d+\.\d{3}, training loss \d+\.\d{3}/,
    )
    // Every axis labelled with its unit; quantities from 0, accuracy and shares 0 to 100%.
    const axes = await page
      .locator('#chart-grid figure')
      .evaluateAll((figures) => figures.map((f) => (f as HTMLElement).dataset.axes ?? ''))
    expect(axes).toHaveLength(7)
    for (const labels of axes) expect(labels.split(' | ').every((l) => l.length > 0)).toBe(true)
    await expect(page.locator('#chart-loss-round')).toHaveAttribute(
      'data-axes',
      'round | loss (nats)',
    )
    for (const id of ['loss-round', 'waiting', 'duration', 'bytes'])
      await expect(page.locator(`#chart-${id}`)).toHaveAttribute('data-y-range', /^0 [\d.e+-]+$/)
    for (const id of ['metrics-round', 'metrics-time', 'tiers'])
      await expect(page.locator(`#chart-${id}`)).toHaveAttribute('data-y-range', '0 1')

    // Each committed round's model, newest first; round 1's saves as TF.js files.
    const models = page.locator('#round-models tbody tr')
    await expect(models).toHaveCount(3)
    await expect(models.first()).toHaveAttribute('data-round', '3')
    const rounds = await own.rounds(task.id)
    const downloads: { name: string; path: string }[] = []
    page.on(
      'download',
      (d) => void d.path().then((path) => downloads.push({ name: d.suggestedFilename(), path })),
    )
    await page.getByRole('button', { name: "Download round 1's model" }).click()
    await expect.poll(() => downloads.length).toBe(2)
    const json = downloads.find((d) => d.name.endsWith('.json'))!
    expect(json.name).toMatch(/-round-1\.json$/)
    const saved = JSON.parse(await readFile(json.path, 'utf8')) as {
      userDefinedMetadata: { pollen: { modelHash: string } }
    }
    expect(saved.userDefinedMetadata.pollen.modelHash).toBe(rounds[0]!.model)
    await expect(page.locator('#task-message')).toContainText('round-1.json')

    // The confusion matrix of the latest round: one row per class, each the label's examples.
    const matrix = page.locator('#confusion-table tbody tr')
    await expect(matrix).toHaveCount(10)
    await expect(page.locator('#confusion-note')).toContainText('Round 3')
    const confusion = rounds[2]!.confusion!
    await expect(matrix.nth(7).locator('td').last()).toHaveText(
      String(confusion[7]!.reduce((a, b) => a + b, 0)),
    )
    await page.getByLabel('Round shown').selectOption('1')
    await expect(page.locator('#confusion-note')).toContainText('Round 1')
    expect(await sidewaysScroll(page)).toBe(0)
    await screens(page, 'trained', page.locator('#models'))

    // Clone: the form filled from the task, edited, created.
    await page.getByRole('button', { name: 'Clone…' }).click()
    await expect(page.getByLabel('Name', { exact: true })).toHaveValue(`${name} (copy)`)
    await expect(page.getByLabel('Devices per round', { exact: true }).first()).toHaveValue('2')
    await expect(page.locator('#create-clone-note')).toContainText(`Cloned from “${name}”`)
    await page.getByLabel('Rounds to commit').fill('50')
    await screens(page, 'clone', page.locator('#create'))
    await page.getByRole('button', { name: 'Create task' }).click()
    const copyName = `${name} (copy)`
    await expect(page.getByRole('heading', { level: 1, name: copyName })).toBeVisible()
    const copy = (await own.tasks()).find((t) => t.name === copyName)!
    expect(copy).toMatchObject({
      purpose: task.purpose,
      rounds: { ...task.rounds, total: 50 },
      train: task.train,
    })

    // Steering it: a refusal in the form's words, then a visible, announced confirmation.
    await page.getByLabel('Devices per round', { exact: true }).last().fill('0')
    await page.getByRole('button', { name: 'Apply to next rounds' }).click()
    const settingsErrors = page.locator('#settings-errors')
    await expect(settingsErrors).toContainText('Devices per round: must be')
    await expect(settingsErrors).not.toContainText(/clientsPerRound|Too small|expected/)
    await page.getByLabel('Devices per round', { exact: true }).last().fill('3')
    await page.getByRole('button', { name: 'Apply to next rounds' }).click()
    const applied = page.locator('#settings-message')
    await expect(applied).toHaveAttribute('aria-live', 'polite')
    await expect(applied).toContainText('Applied. From round 2')
    await expect(applied).toContainText('3 devices per round')
    await expect(applied).toBeInViewport()
    expect((await own.tasks()).find((t) => t.id === copy.id)!.rounds.clientsPerRound).toBe(3)
    await screens(page, 'settings-applied', page.locator('#settings'))

    // Delete, after a confirm: dismissed keeps it, accepted removes it.
    page.once('dialog', (dialog) => void dialog.dismiss())
    await page.getByRole('button', { name: 'Delete…' }).click()
    await expect(page.locator('#task-message')).toHaveText('Not deleted.')
    expect((await own.tasks()).map((t) => t.id)).toContain(copy.id)
    page.once('dialog', (dialog) => {
      expect(dialog.message()).toContain(copyName)
      void dialog.accept()
    })
    await page.getByRole('button', { name: 'Delete…' }).click()
    await expect(page.locator('#task-message')).toHaveText(`Deleted “${copyName}”.`)
    await expect(page.locator('#task-list')).not.toContainText(copyName)
    expect((await own.tasks()).map((t) => t.id)).toEqual([task.id])
  } finally {
    await sim.stop()
    await own.stop()
  }
})

test('an async (FedBuff) task is shown in versions, buffer size, staleness and concurrency', async ({
  page,
}) => {
  const own = await ownCoordinator()
  const name = uniqueName('Buffered digits')
  try {
    await own.admin<TaskView>('POST', '/tasks', {
      name,
      purpose: 'Digits, trained asynchronously.',
      model: { preset: 'mnist-2nn' },
      mode: 'async',
      async: { bufferSize: 4, maxStaleness: 3, stalenessExponent: 0.5, concurrency: 12 },
      rounds: { total: 20, deadlineSeconds: 90 },
    })
    await page.setViewportSize({ width: 390, height: 844 })
    await openDashboard(page, own)
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible()
    const facts = page.locator('#task-facts')
    await expect(facts).toContainText('async (FedBuff): a new version every 4 updates (buffer K)')
    await expect(facts).toContainText('at most 3 versions stale, 12 devices at work at once')
    await expect(facts).not.toContainText('devices per round')
    await expect(page.locator('#round-title')).toHaveText(/Version\s+1/)
    await expect(page.locator('#round-summary')).toHaveText(
      '0 of 4 updates in the buffer; the version is applied when it is full.',
    )
    await expect(page.locator('#countdown')).toHaveText('0 of 4 buffered')
    await expect(page.locator('#task-list .task-progress')).toHaveText('version 0 of 20')
    expect(await sidewaysScroll(page)).toBe(0)
    await screens(page, 'async')
  } finally {
    await own.stop()
  }
})
