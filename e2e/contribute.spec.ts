// A phone contributes: it sees a task with its (hostile) purpose on the Tasks screen, joins,
// trains a round of mnist-2nn in the training worker, and its History lists the accepted round,
// which the coordinator committed. On the network: only protocol endpoints and the app's own
// files, no stored example's bytes in any body, and after withdrawing no check-in names the task.
import { expect, type Request, test } from '@playwright/test'
import type { CheckinRequest } from '../shared/protocol/index.ts'
import { confirmJoin, loadDemo, openApp, screenshot, storedExamples } from './app.ts'
import { createTask, deleteTask, rounds, uniqueName } from './coordinator.ts'
import { e2eEnvironment } from './environment.ts'

const { url } = await e2eEnvironment()

/** Hostile on purpose: the app must show it as text, never run or render it. */
const PURPOSE =
  'Read handwritten digits. <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
/** Unique per run: other phones in this run see the same coordinator's tasks. */
const NAME = uniqueName('Digits <b>bold</b>')
const SECOND = uniqueName('Second task')

/** What a request to the coordinator may be while the phone contributes. */
const PROTOCOL = [
  /^\/api\/v1\/devices$/,
  /^\/api\/v1\/devices\/checkin$/,
  /^\/api\/v1\/devices\/tasks$/,
  /^\/api\/v1\/models\/[0-9a-f]{64}$/,
  /^\/api\/v1\/tasks\/[\w-]+\/rounds\/\d+\/updates$/,
]
/** The app's own static files (shell, chunks, worker, wasm, icons, manifest, service worker). */
const STATIC = [
  /^\/$/,
  /^\/index\.html$/,
  /^\/assets\/[\w.-]+$/,
  /^\/(sw|workbox-[\w-]+)\.js$/,
  /^\/manifest\.webmanifest$/,
  /^\/icons\/[\w.-]+$/,
]

interface Seen {
  request: Request
  at: number
  body: Buffer | null
}

test('a phone joins a task, trains a round in its worker, sends no example, and withdraws', async ({
  page,
  context,
}) => {
  test.setTimeout(180_000)
  const taskA = await createTask({
    name: NAME,
    purpose: PURPOSE,
    model: { preset: 'mnist-2nn' },
    rounds: { total: 50, clientsPerRound: 1, minReports: 1, deadlineSeconds: 120 },
  })
  const taskB = await createTask({
    name: SECOND,
    purpose: 'Another digits model.',
    model: { preset: 'mnist-2nn' },
    rounds: { total: 1, clientsPerRound: 1, minReports: 1, deadlineSeconds: 120 },
  })
  try {
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))

    await openApp(page)
    await loadDemo(page, 'iid')
    const examples = (await storedExamples(page, 20)).map((e) => e.features)
    expect(examples).toHaveLength(20)
    expect(examples.every((p) => p.length === 784)).toBe(true)

    // From here on, every request of the phone's context (page, workers, service worker).
    const seen: Seen[] = []
    context.on('request', (request) =>
      seen.push({ request, at: Date.now(), body: request.postDataBuffer() }),
    )

    // The Tasks screen: the task as described, its purpose as plain text.
    await page.getByRole('link', { name: 'Tasks' }).click()
    await expect(page.getByRole('heading', { level: 1, name: 'Tasks' })).toBeFocused()
    const card = page
      .getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: NAME }) })
    await expect(card).toBeVisible()
    await expect(card.locator('blockquote.purpose')).toHaveText(PURPOSE)
    await expect(card.locator('blockquote.purpose img, blockquote.purpose script')).toHaveCount(0)
    await expect(card).toContainText('A weight update of 797 kB per round, never your examples.')
    await expect(card).toContainText('mnist-2nn, 199,210 parameters')
    await expect(card).toContainText('0 of 50 done')
    await expect(card).toContainText('None: no differential privacy')
    await expect(card.getByText('Not joined')).toBeVisible()
    await screenshot(page, '20-tasks')

    await card.getByRole('button', { name: 'Join' }).click()
    await confirmJoin(page, NAME)
    await expect(card.getByText('Joined', { exact: true })).toBeVisible()
    // Conditions: Chromium here says whether the page is visible and (through the Battery
    // Status API) whether it charges; desktop Chromium gives no network type, and the screen says so.
    await expect(
      card.getByRole('checkbox', { name: 'Only while Pollen is on screen' }),
    ).toBeEnabled()
    await expect(
      card.getByRole('checkbox', { name: /Only on an unmetered network/ }),
    ).toBeDisabled()
    await expect(card).toContainText('cannot apply this condition here')

    // It trains: backend shown, then a round in the history, accepted.
    await expect(page.locator('#contribute-backend')).toHaveText(/^(webgpu|wasm|cpu)$/, {
      timeout: 60_000,
    })
    await expect(page.locator('#contribute-last')).toContainText('accepted', { timeout: 90_000 })
    await screenshot(page, '21-tasks-contributing')

    await page.getByRole('link', { name: 'History' }).click()
    const row = page.locator('#history-list li[data-outcome="accepted"]').first()
    await expect(row).toBeVisible()
    await expect(row).toContainText(NAME)
    await expect(row).toContainText('797 kB')
    expect(Number(await row.getAttribute('data-round'))).toBeGreaterThanOrEqual(1)
    await expect(row.locator('dd').nth(1)).not.toHaveText('0')
    await screenshot(page, '22-history')

    // The coordinator committed the round this phone reported.
    const round = Number(await row.getAttribute('data-round'))
    // (The commit follows the accepted upload: aggregation and held-out evaluation come first.)
    await expect
      .poll(async () => (await rounds(taskA.id)).find((r) => r.round === round))
      .toMatchObject({ status: 'committed', reported: 1 })

    // Withdraw A; join B: check-ins from now on name B, never A.
    await page.getByRole('link', { name: 'Tasks' }).click()
    await card.getByRole('button', { name: 'Withdraw' }).click()
    await expect(page.getByText(`Withdrew from “${NAME}”`)).toBeVisible()
    await expect(card.getByText('Not joined')).toBeVisible()
    const withdrawnAt = Date.now()
    const cardB = page
      .getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: SECOND }) })
    await cardB.getByRole('button', { name: 'Join' }).click()
    await confirmJoin(page, SECOND)
    await expect
      .poll(
        () => checkins(seen, withdrawnAt).filter((c) => c.consents?.includes(taskB.id)).length,
        {
          timeout: 60_000,
        },
      )
      .toBeGreaterThan(0)
    for (const checkin of checkins(seen, withdrawnAt)) {
      expect(checkin.consents).toBeDefined()
      expect(checkin.consents).not.toContain(taskA.id)
    }
    // Every check-in before it named only what the owner had agreed to.
    for (const checkin of checkins(seen, 0)) expect(checkin.consents).toBeDefined()

    // The network, all along: protocol endpoints and the app's files, same origin, and no body
    // holds a stored example's bytes.
    expect(seen.length).toBeGreaterThan(0)
    for (const { request, body } of seen) {
      const target = new URL(request.url())
      // The worker's own object URLs (its wasm thread scripts) never reach the network.
      if (target.protocol === 'blob:' && new URL(target.pathname).origin === url) continue
      expect(target.origin, request.url()).toBe(url)
      const allowed = [...PROTOCOL, ...STATIC].some((pattern) => pattern.test(target.pathname))
      expect(allowed, `${request.method()} ${target.pathname}`).toBe(true)
      if (!body) continue
      for (const pixels of examples) {
        expect(body.indexOf(Buffer.from(pixels)), request.url()).toBe(-1)
      }
    }
    const uploads = seen.filter((s) => /\/updates$/.test(new URL(s.request.url()).pathname))
    expect(uploads.length).toBeGreaterThan(0)
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(problems).toEqual([])
  } finally {
    await deleteTask(taskA.id)
    await deleteTask(taskB.id)
  }
})

/** The bodies of the check-ins sent after `since` (ms). */
function checkins(seen: Seen[], since: number): CheckinRequest[] {
  return seen
    .filter((s) => s.at >= since && new URL(s.request.url()).pathname === '/api/v1/devices/checkin')
    .map((s) => JSON.parse(s.body?.toString('utf8') ?? '{}') as CheckinRequest)
}
