// A phone's work survives what phones do: a reload in the middle of local training carries on
// from the last checkpoint (the worker's own step counter says so), an update trained while
// offline waits in IndexedDB and goes when the network returns, and one left behind in a closed
// page goes through the service worker's Background Sync.
import { type BrowserContext, expect, type Page, test } from '@playwright/test'
import type { PendingUpload } from '../client/app/storage/index.ts'
import type { CheckpointRecord, HistoryRecord } from '../client/app/storage/index.ts'
import type { TaskView } from '../shared/protocol/index.ts'
import {
  joinTask,
  loadDemo,
  openApp,
  screenshot,
  storedRecords,
  waitForServiceWorker,
  waitUntilReady,
} from './app.ts'
import { createTask, deleteTask, rounds, uniqueName } from './coordinator.ts'
import { e2eEnvironment } from './environment.ts'

const { url } = await e2eEnvironment()

/**
 * synet on ~800 digits in batches of 16: 50 steps of about a fifth of a second each in the
 * worker, long enough to act in the middle, with a checkpoint every 5 steps.
 */
const slowTask = (name: string): Promise<TaskView> =>
  createTask({
    name,
    purpose: 'Checks that a phone loses no work.',
    model: { preset: 'synet' },
    train: { optimizer: 'momentum', learningRate: 0.01, batchSize: 16 },
    rounds: { total: 1, clientsPerRound: 1, minReports: 1, deadlineSeconds: 300 },
  })

const progress = (page: Page) => page.locator('#train-progress')

/** The worker's step counter, as the page shows it (0 before the first report). */
async function step(page: Page): Promise<number> {
  return Number((await progress(page).getAttribute('data-step')) ?? 0)
}

test('a reload in the middle of training resumes from the checkpoint and still reports in time', async ({
  page,
}) => {
  test.setTimeout(240_000)
  const name = uniqueName('Resume after reload')
  const task = await slowTask(name)
  try {
    await openApp(page)
    await loadDemo(page, 'iid')
    await joinTask(page, name)

    // Training runs from step 1; wait for two checkpoints (steps 5 and 10) to be stored.
    await expect.poll(() => step(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(12)
    await expect(progress(page)).toHaveAttribute('data-first-step', '1')
    const saved = await storedRecords<CheckpointRecord>(page, 'checkpoints')
    expect(saved).toHaveLength(1)
    expect(saved[0]!.taskId).toBe(task.id)
    expect(saved[0]!.checkpoint.step % 5).toBe(0)
    expect(saved[0]!.checkpoint.step).toBeGreaterThanOrEqual(10)
    expect(saved[0]!.checkpoint.totalSteps).toBe(await progressTotal(page))
    await screenshot(page, '23-tasks-training')

    await page.reload()
    await waitUntilReady(page)
    await page.getByRole('link', { name: 'Tasks' }).click()
    // The worker's first step after the reload is the one after the last checkpoint.
    await expect(progress(page)).toHaveAttribute('data-resumed-from', /^\d+$/, { timeout: 60_000 })
    const resumedFrom = Number(await progress(page).getAttribute('data-resumed-from'))
    expect(resumedFrom).toBeGreaterThanOrEqual(saved[0]!.checkpoint.step)
    await expect(progress(page)).toHaveAttribute('data-first-step', String(resumedFrom + 1))
    await expect(page.locator('#contribute-status')).toContainText(
      `carrying on from step ${resumedFrom}`,
    )
    await screenshot(page, '24-tasks-resumed')

    // It finishes the round and reports before the deadline.
    await expect(page.locator('#contribute-last')).toContainText('accepted', { timeout: 120_000 })
    const [round] = await rounds(task.id)
    expect(round).toMatchObject({ round: 1, reported: 1 })
    const history = await storedRecords<HistoryRecord>(page, 'history')
    const done = history.find((h) => h.taskId === task.id)!
    expect(done.outcome).toBe('accepted')
    expect(done.steps).toBe(saved[0]!.checkpoint.totalSteps)
    expect(done.finishedAt).toBeLessThan(Date.parse(round!.deadlineAt!))
    expect(await storedRecords(page, 'checkpoints')).toEqual([])
    expect(await storedRecords(page, 'uploads')).toEqual([])
  } finally {
    await deleteTask(task.id)
  }
})

/**
 * Opens the app (its service worker in control), joins the task named `name`, and cuts the
 * network while the phone trains: it finishes the round and queues the update.
 */
async function trainThenGoOffline(page: Page, context: BrowserContext, name: string) {
  await openApp(page)
  await waitForServiceWorker(page)
  await loadDemo(page, 'iid')
  await joinTask(page, name)
  await expect.poll(() => step(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(3)
  await context.setOffline(true)
  await expect(page.locator('#network')).toBeVisible()
  await expect(page.locator('#contribute-status')).toContainText(
    'Offline: an update waits to be sent',
    { timeout: 120_000 },
  )
}

async function progressTotal(page: Page): Promise<number> {
  return Number(await progress(page).getAttribute('data-total-steps'))
}

test('offline, a trained update waits in IndexedDB and goes when the network returns', async ({
  page,
  context,
}) => {
  test.setTimeout(240_000)
  const name = uniqueName('Offline upload')
  const task = await slowTask(name)
  try {
    // The network goes while the phone trains; training goes on, the upload cannot.
    await trainThenGoOffline(page, context, name)
    const queued = await storedRecords<PendingUpload>(page, 'uploads')
    expect(queued).toHaveLength(1)
    expect(queued[0]).toMatchObject({ taskId: task.id, round: 1 })
    expect(queued[0]!.body.byteLength).toBeGreaterThan(4_000_000) // synet's 1.2 M weights
    expect(await storedRecords(page, 'checkpoints')).toEqual([])
    expect((await rounds(task.id))[0]).toMatchObject({ reported: 0 })

    await page.getByRole('link', { name: 'History' }).click()
    const waiting = page.locator('#history-list li[data-outcome="waiting"]')
    await expect(waiting).toContainText(name)
    await expect(waiting).toContainText('Waiting to send')
    await expect(page.locator('#history-summary')).toContainText('1 update waits for the network')
    await screenshot(page, '25-history-waiting')

    // The network returns: the update goes, and the history says what the coordinator answered.
    await context.setOffline(false)
    await expect.poll(async () => (await rounds(task.id))[0]?.reported).toBe(1)
    const accepted = page.locator('#history-list li[data-outcome="accepted"]')
    await expect(accepted.filter({ hasText: name })).toBeVisible()
    await expect(waiting).toHaveCount(0)
    expect(await storedRecords(page, 'uploads')).toEqual([])
  } finally {
    await context.setOffline(false)
    await deleteTask(task.id)
  }
})

test('an update left queued by a closed page is sent by the service worker’s Background Sync', async ({
  page,
  context,
}) => {
  test.setTimeout(240_000)
  const name = uniqueName('Background Sync')
  const task = await slowTask(name)
  try {
    await trainThenGoOffline(page, context, name)
    await page.close()

    // No page of the app is open now: a plain file of the same origin, to reach the service
    // worker through DevTools and to read IndexedDB.
    await context.setOffline(false)
    const other = await context.newPage()
    await other.goto(`${url}/manifest.webmanifest`)
    const cdp = await context.newCDPSession(other)
    const registration = new Promise<string>((resolve) => {
      cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
        const found = registrations.find((r) => r.scopeURL === `${url}/` && !r.isDeleted)
        if (found) resolve(found.registrationId)
      })
    })
    await cdp.send('ServiceWorker.enable')
    // Chromium may already have fired the sync when the network came back; if not, fire it.
    if ((await rounds(task.id))[0]?.reported !== 1) {
      await cdp.send('ServiceWorker.dispatchSyncEvent', {
        origin: url,
        registrationId: await registration,
        tag: 'pollen-uploads',
        lastChance: false,
      })
    }
    await expect.poll(async () => (await rounds(task.id))[0]?.reported).toBe(1)
    await expect
      .poll(async () =>
        (await storedRecords<HistoryRecord>(other, 'history')).map((h) => h.outcome),
      )
      .toEqual(['accepted'])
    expect(await storedRecords(other, 'uploads')).toEqual([])
  } finally {
    await context.setOffline(false)
    await deleteTask(task.id)
  }
})
