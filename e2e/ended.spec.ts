// A task's whole life on a phone: the owner reads the terms and confirms before joining, the
// phone trains the task's one round, and once the task completed the phone shows it as ended
// (when, how far, its final held-out accuracy) without the controls of a task that trains, says
// plainly why it is idle, keeps it in History and Privacy, and Try still reads a drawing with
// the final model. Deleted, the task shows as removed. An async (FedBuff) task is shown by its
// versions, buffer, staleness and concurrency, and a task without a purpose is never joinable.
import { expect, type Locator, test } from '@playwright/test'
import type { DeviceTaskView } from '../shared/protocol/index.ts'
import {
  confirmJoin,
  joinDialog,
  loadDemo,
  openApp,
  screenshots,
  storedRecords,
  taskCard,
} from './app.ts'
import { createTask, deleteTask, rounds, uniqueName } from './coordinator.ts'
import { drawWithMouse, SEVEN } from './draw.ts'
import { formatAccuracy } from '../client/app/tasks/format.ts'

/** A card's facts, term and value. */
const facts = (card: Locator) =>
  card
    .locator('dl.facts')
    .evaluate((dl) =>
      [...dl.querySelectorAll('dt')].map((dt) => [
        dt.textContent,
        dt.nextElementSibling?.textContent ?? '',
      ]),
    )

test('a task the phone trained completes: shown ended with its final accuracy, its final model still tried', async ({
  page,
}) => {
  test.setTimeout(240_000)
  const name = uniqueName('Digits to the end')
  const task = await createTask({
    name,
    purpose: 'Read handwritten digits, for a class on federated learning.',
    model: { preset: 'mnist-2nn' },
    rounds: { total: 1, clientsPerRound: 1, minReports: 1, deadlineSeconds: 120 },
  })
  let deleted = false
  try {
    await openApp(page)
    await loadDemo(page, 'iid')
    await page.getByRole('link', { name: 'Tasks' }).click()
    const card = taskCard(page, name)
    await expect(card.getByText('Not joined')).toBeVisible()

    // Join asks first, with the terms; Cancel agrees to nothing.
    await card.getByRole('button', { name: 'Join' }).click()
    const dialog = joinDialog(page, name)
    await expect(dialog).toBeVisible()
    await expect(dialog).toContainText(
      'Read handwritten digits, for a class on federated learning.',
    )
    await expect(dialog).toContainText('A weight update of 797 kB per round, never your examples.')
    await expect(dialog).toContainText('None: no differential privacy and no secure aggregation.')
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused()
    await screenshots(page, 'tasks-join-confirm', { fullPage: false })
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await expect(dialog).toBeHidden()
    await expect(card.getByText('Not joined')).toBeVisible()
    expect(await storedRecords(page, 'consent')).toEqual([])
    await card.getByRole('button', { name: 'Join' }).click()
    await confirmJoin(page, name)
    await expect(card.getByText('Joined', { exact: true })).toBeVisible()

    // It trains the one round, and the task completes.
    await expect(page.locator('#contribute-last')).toContainText('accepted', { timeout: 150_000 })
    await expect
      .poll(async () => (await rounds(task.id))[0]?.status, { timeout: 30_000 })
      .toBe('committed')
    const [final] = await rounds(task.id)
    // As the phone writes it (toFixed rounds 66.85 down where the phone's Intl rounds it up).
    const accuracy = formatAccuracy(final!.accuracy!)

    // Ended: when, how far, the final accuracy; nothing to join, pause or withdraw.
    await expect(async () => {
      await page.getByRole('link', { name: 'Data' }).click()
      await page.getByRole('link', { name: 'Tasks' }).click()
      await expect(card.locator('.state')).toHaveText('Completed', { timeout: 2000 })
    }).toPass({ timeout: 30_000 })
    await expect(card).toContainText(`after 1 of 1 round. Final held-out accuracy: ${accuracy}.`)
    for (const control of ['Join', 'Pause', 'Resume', 'Withdraw'])
      await expect(card.getByRole('button', { name: control, exact: true })).toHaveCount(0)
    await expect(card.getByRole('group', { name: 'Train only when' })).toHaveCount(0)
    await expect(card.getByRole('link', { name: 'Try its final model' })).toBeVisible()
    // Why nothing trains, and what would make it.
    await expect(page.locator('#contribute-status')).toHaveText(
      'Nothing to train: no task you joined is running (each ended or was removed). ' +
        'Join a task below when one is offered.',
      { timeout: 45_000 },
    )
    await screenshots(page, 'tasks-ended')

    // History and the privacy ledger keep it.
    await page.getByRole('link', { name: 'History' }).click()
    await expect(page.locator(`#history-list li[data-task-id="${task.id}"]`)).toHaveCount(1)
    await page.getByRole('link', { name: 'Privacy' }).click()
    await expect(page.locator('#privacy-list')).toContainText(name)

    // Try reads a drawing with the final model.
    await page.getByRole('link', { name: 'Tasks' }).click()
    await card.getByRole('link', { name: 'Try its final model' }).click()
    const choose = page.getByLabel('The model of the task')
    await choose.selectOption({ label: `${name} (final model)` })
    await expect(page.locator('#try-model')).toContainText(
      `after 1 of 1 round. Final held-out accuracy: ${accuracy}.`,
    )
    await drawWithMouse(
      page,
      page.getByRole('img', { name: 'Drawing area for the digit to try' }),
      SEVEN,
    )
    await page.getByRole('button', { name: 'Read my digit' }).click()
    await expect(
      page.getByRole('list', { name: 'Probability of each digit' }).getByRole('listitem'),
    ).toHaveCount(10)
    await expect(page.locator('#try-model')).toContainText(
      `${name}: mnist-2nn, after 1 round. Held-out accuracy ${accuracy}. ` +
        'The task has ended: this is its final model.',
    )
    await expect(page.locator('#try-note')).toBeHidden()
    const kept = await storedRecords<{ hash: string; taskId: string }>(page, 'models')
    expect(kept.some((m) => m.taskId === task.id && m.hash === final!.model)).toBe(true)
    await screenshots(page, 'try-final-model')

    // Deleted by its data scientist: the card says it was removed.
    await deleteTask(task.id)
    deleted = true
    await page.getByRole('link', { name: 'Tasks' }).click()
    await expect(card.locator('.state')).toHaveText('Removed')
    await expect(card).toContainText(
      'The data scientist removed this task from the coordinator. Nothing trains for it, and ' +
        'its model can no longer be tried.',
    )
    await expect(card.getByRole('button')).toHaveText(['Remove from this list'])
    await screenshots(page, 'tasks-removed')
  } finally {
    if (!deleted) await deleteTask(task.id)
  }
})

test('an async task shows versions, buffer, staleness and concurrency; one without a purpose cannot be joined', async ({
  page,
}) => {
  const name = uniqueName('FedBuff digits')
  const task = await createTask({
    name,
    purpose: 'Read digits as phones come and go.',
    model: { preset: 'mnist-2nn' },
    mode: 'async',
    async: { bufferSize: 5, maxStaleness: 3, concurrency: 8 },
    rounds: { total: 20 },
  })
  // The coordinator refuses a task without a purpose; staged in its list, the phone still
  // offers no Join for one.
  const bare = uniqueName('No purpose')
  await page.route('**/api/v1/devices/tasks', async (route) => {
    const response = await route.fetch()
    const { tasks } = (await response.json()) as { tasks: DeviceTaskView[] }
    const staged: DeviceTaskView = {
      ...tasks.find((t) => t.id === task.id)!,
      id: 'staged-without-purpose',
      name: bare,
      purpose: '',
      mode: 'sync',
      async: null,
    }
    await route.fulfill({ response, json: { tasks: [...tasks, staged] } })
  })
  try {
    await openApp(page)
    await page.getByRole('link', { name: 'Tasks' }).click()
    const card = taskCard(page, name)
    await expect(card).toBeVisible()
    expect(await facts(card)).toEqual([
      [
        'What leaves this phone',
        'A weight update of 797 kB each time it trains, never your examples.',
      ],
      ['Model', 'mnist-2nn, 199,210 parameters'],
      ['Model versions', '0 of 20 committed, with no rounds or deadlines'],
      ['New version', 'every 5 updates from phones, as they arrive'],
      ['Staleness allowed', 'an update counts if trained on a version at most 3 versions old'],
      ['Phones at once', 'up to 8 phones training at the same time'],
      ['Your data it trains on', 'Your “mnist” examples, on this phone'],
      ['Privacy', expect.stringContaining('None: no differential privacy')],
    ])
    await expect(card).not.toContainText('to answer each')
    await expect(card.getByRole('button', { name: 'Join' })).toBeVisible()

    const staged = taskCard(page, bare)
    await expect(staged).toContainText('The data scientist gave no purpose.')
    await expect(staged).toContainText('Pollen does not let phones join a task without a purpose')
    await expect(staged.getByRole('button')).toHaveCount(0)
    await card.scrollIntoViewIfNeeded()
    await screenshots(page, 'tasks-async')
  } finally {
    await deleteTask(task.id)
  }
})
