import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { byId } from '../../ui/dom.ts'
import { arrangeCards, purposeChanged } from './arrange.ts'
import type { ConditionSource } from './conditions.ts'
import type { ConsentStore } from './consent.ts'

export { CONDITIONS, NO_CONDITIONS, unmetConditions, watchConditions } from './conditions.ts'
export type { ConditionSignals, ConditionSource } from './conditions.ts'
export { createConsentStore } from './consent.ts'
export type { ConsentStore } from './consent.ts'

export interface TasksScreenOptions {
  consents: ConsentStore
  conditions: ConditionSource
  /** The tasks the coordinator offers (GET /api/v1/devices/tasks). */
  offered: () => Promise<DeviceTaskView[]>
  document?: Document
}

/**
 * The tasks screen, where the owner decides (as a data owner approves a request in PySyft Duet):
 * each task offered with its name, its purpose as the data scientist wrote it (shown as text,
 * never as markup), what leaves the phone, the model, its rounds (or an async task's versions) and
 * the privacy; Join (after the owner confirms the terms), Pause, Resume, Withdraw; and the
 * conditions on training, applied where the browser gives the signal. A task joined that ended
 * shows how it ended and its final accuracy; one the coordinator no longer lists, that it was
 * removed. Neither keeps controls of a task that trains.
 */
export function mountTasksScreen({
  consents,
  conditions,
  offered,
  document = globalThis.document,
}: TasksScreenOptions) {
  const list = byId(document, 'task-list', HTMLUListElement)
  const message = byId(document, 'tasks-message', HTMLParagraphElement)
  let tasks: DeviceTaskView[] = []
  /** Whether the last list came from the coordinator: only then is a task missing from it gone. */
  let reached = false

  const say = (text: string, tone: 'ok' | 'error' | 'info' = 'info') => {
    message.setAttribute('role', tone === 'error' ? 'alert' : 'status')
    message.className = `message ${tone}`
    message.textContent = text
  }

  async function render(): Promise<void> {
    // The cards and the privacy terms' words load with the first render, apart from the page's
    // first bundle.
    const [{ privacyTerms }, { taskCards }] = await Promise.all([
      import('../privacy/terms.ts'),
      import('./cards.ts'),
    ])
    const cards = taskCards({ document, consents, conditions, privacyTerms, say, render })
    const mine = new Map((await consents.list()).map((c) => [c.taskId, c]))
    for (const id of purposeChanged(tasks, mine)) {
      const consent = mine.get(id)!
      mine.set(id, (await consents.pause(id)) ?? consent)
    }
    const items = arrangeCards(tasks, mine, reached).map((plan) => {
      switch (plan.kind) {
        case 'offered':
          return cards.offeredCard(plan.task, plan.consent)
        case 'ended':
          return cards.endedCard(plan.task)
        case 'removed':
          return cards.removedCard(plan.consent)
        case 'stored':
          return cards.storedCard(plan.consent)
      }
    })
    list.replaceChildren(...items)
    if (items.length === 0) say('No tasks are offered right now. Look again later.')
  }

  /** Asks the coordinator for its tasks again and redraws. */
  async function refresh(): Promise<void> {
    try {
      tasks = await offered()
      reached = true
      if (message.textContent?.startsWith('Could not reach')) say('')
    } catch (error) {
      reached = false
      say(
        `Could not reach the coordinator to list its tasks (${errorText(error)}). ` +
          'The tasks you joined are below.',
        'error',
      )
    }
    await render()
  }

  conditions.subscribe(() => {
    render().catch(() => {})
  })

  return { refresh, render }
}

export type TasksScreen = ReturnType<typeof mountTasksScreen>

const errorText = (error: unknown): string =>
  error instanceof Error ? error.message || error.name : String(error)
