import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { byId, h } from '../dom.ts'
import type { ConsentRecord, TrainingConditions } from '../storage/index.ts'
import { CONDITIONS, type ConditionSource } from './conditions.ts'
import type { ConsentStore } from './consent.ts'

export { CONDITIONS, NO_CONDITIONS, unmetConditions, watchConditions } from './conditions.ts'
export type { ConditionSignals, ConditionSource } from './conditions.ts'
export { createConsentStore } from './consent.ts'
export type { ConsentStore } from './consent.ts'

type PrivacyTerms = typeof import('../privacy/terms.ts').privacyTerms

export interface TasksScreenOptions {
  consents: ConsentStore
  conditions: ConditionSource
  /** The tasks the coordinator offers (GET /api/v1/devices/tasks). */
  offered: () => Promise<DeviceTaskView[]>
  document?: Document
}

/** "797 kB": the size of what leaves the phone, in the units people read. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`
  if (bytes < 1e6) return `${Math.round(bytes / 1000).toLocaleString('en')} kB`
  return `${(bytes / 1e6).toLocaleString('en', { maximumFractionDigits: 1 })} MB`
}

const seconds = (s: number) =>
  s < 120 ? `${Math.round(s)} seconds` : `${Math.round(s / 60).toLocaleString('en')} minutes`

/**
 * The tasks screen, where the owner decides (as a data owner approves a request in PySyft Duet):
 * each task offered with its name, its purpose as the data scientist wrote it (shown as text,
 * never as markup), what leaves the phone, the model, the rounds and the privacy; Join, Pause,
 * Resume, Withdraw; and the conditions on training, applied where the browser gives the signal.
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

  const say = (text: string, tone: 'ok' | 'error' | 'info' = 'info') => {
    message.setAttribute('role', tone === 'error' ? 'alert' : 'status')
    message.className = `message ${tone}`
    message.textContent = text
  }

  const fact = (term: string, value: string) => [
    h(document, 'dt', null, term),
    h(document, 'dd', null, value),
  ]

  function conditionsFieldset(consent: ConsentRecord): HTMLFieldSetElement {
    const signals = conditions.read()
    const fieldset = h(
      document,
      'fieldset',
      'conditions',
      h(document, 'legend', null, 'Train only when'),
    )
    for (const c of CONDITIONS) {
      const box = h(document, 'input', null)
      box.type = 'checkbox'
      box.name = c.key
      box.checked = consent.conditions[c.key]
      const supported = signals[c.signal] !== null
      const label = h(document, 'label', 'check', box, h(document, 'span', null, c.label))
      fieldset.append(label)
      if (!supported) {
        box.disabled = true
        box.checked = false
        label.classList.add('unsupported')
        fieldset.append(h(document, 'p', 'hint', c.unsupported))
      }
      box.addEventListener('change', () => {
        const next: TrainingConditions = { ...consent.conditions, [c.key]: box.checked }
        consent.conditions = next
        consents
          .setConditions(consent.taskId, next)
          .then(() => say(`Saved: ${c.label.toLowerCase()} ${box.checked ? 'on' : 'off'}.`, 'ok'))
          .catch((error: unknown) => say(`Could not save: ${errorText(error)}`, 'error'))
      })
    }
    return fieldset
  }

  function act(label: string, className: string | null, run: () => Promise<unknown>, done: string) {
    const button = h(document, 'button', className, label)
    button.type = 'button'
    button.addEventListener('click', () => {
      button.disabled = true
      run()
        .then(async () => {
          say(done, 'ok')
          await render()
        })
        .catch((error: unknown) => {
          button.disabled = false
          say(`${label} failed: ${errorText(error)}`, 'error')
        })
    })
    return button
  }

  function card(
    task: DeviceTaskView | null,
    consent: ConsentRecord | undefined,
    privacyTerms: PrivacyTerms,
  ): HTMLLIElement {
    const name = task?.name ?? consent?.taskName ?? ''
    const id = task?.id ?? consent?.taskId ?? ''
    const stateText = !consent ? 'Not joined' : consent.state === 'granted' ? 'Joined' : 'Paused'
    const title = h(document, 'h2', null, name)
    title.id = `task-${id}`
    const item = h(
      document,
      'li',
      'card task',
      h(
        document,
        'div',
        'task-head',
        title,
        h(document, 'span', `state ${consent?.state ?? 'none'}`, stateText),
      ),
    )
    item.dataset.taskId = id
    item.setAttribute('aria-labelledby', title.id)

    const purpose = task?.purpose ?? consent?.purpose ?? ''
    item.append(
      h(document, 'p', 'label', 'Why they ask'),
      purpose.trim()
        ? h(document, 'blockquote', 'purpose', purpose)
        : h(document, 'p', 'purpose empty', 'The data scientist gave no purpose.'),
    )
    if (task && consent && consent.purpose !== task.purpose) {
      item.append(
        h(
          document,
          'p',
          'warning',
          'The purpose changed since you joined, so this task is paused. Read it again, and ' +
            'join again if you agree.',
        ),
      )
    }
    if (task) {
      const kB = formatBytes(task.updateBytes)
      item.append(
        h(
          document,
          'dl',
          'facts',
          ...fact(
            'What leaves this phone',
            `A weight update of ${kB} per round, never your examples.`,
          ),
          ...fact(
            'Model',
            `${task.model.preset}, ${task.model.parameters.toLocaleString('en')} parameters`,
          ),
          ...fact(
            'Rounds',
            `${task.rounds.committed} of ${task.rounds.total} done; ${seconds(task.rounds.deadlineSeconds)} to answer each`,
          ),
          ...fact('Your data it trains on', `Your “${task.dataset}” examples, on this phone`),
          h(document, 'dt', null, 'Privacy'),
          ...privacyTerms(task.privacy).map((terms) => h(document, 'dd', 'privacy', terms)),
        ),
      )
      if (task.status === 'paused')
        item.append(h(document, 'p', 'hint', 'The data scientist paused this task for now.'))
    } else {
      item.append(
        h(
          document,
          'p',
          'hint',
          'The coordinator no longer offers this task (it ended or was removed). Nothing trains for it.',
        ),
      )
    }

    const actions = h(document, 'div', 'actions')
    const changed = task && consent && consent.purpose !== task.purpose
    if (task && (!consent || changed)) {
      actions.append(
        act(
          changed ? 'Join again' : 'Join',
          'primary',
          () => consents.join(task),
          `You joined “${task.name}”. Pollen trains for it while your conditions hold.`,
        ),
      )
    }
    if (consent?.state === 'granted' && !changed) {
      actions.append(
        act('Pause', null, () => consents.pause(id), `Paused “${name}”: nothing trains for it.`),
      )
    }
    if (consent?.state === 'paused' && !changed && task) {
      actions.append(act('Resume', null, () => consents.resume(id), `Resumed “${name}”.`))
    }
    if (consent) {
      actions.append(
        act(
          'Withdraw',
          'danger',
          () => consents.withdraw(id),
          `Withdrew from “${name}”: this phone no longer takes part in it.`,
        ),
      )
    }
    // Buttons say which task they act on, for screen readers.
    for (const button of actions.querySelectorAll('button'))
      button.setAttribute('aria-describedby', title.id)
    item.append(actions)
    if (consent) item.append(conditionsFieldset(consent))
    return item
  }

  async function render(): Promise<void> {
    // The privacy terms' words load with the first render, apart from the page's first bundle.
    const { privacyTerms } = await import('../privacy/terms.ts')
    const mine = new Map((await consents.list()).map((c) => [c.taskId, c]))
    // A purpose changed after the owner agreed: that agreement does not cover it.
    for (const task of tasks) {
      const consent = mine.get(task.id)
      if (consent?.state === 'granted' && consent.purpose !== task.purpose) {
        mine.set(task.id, (await consents.pause(task.id)) ?? consent)
      }
    }
    const offeredIds = new Set(tasks.map((t) => t.id))
    const items = [
      ...tasks.map((t) => card(t, mine.get(t.id), privacyTerms)),
      ...[...mine.values()]
        .filter((c) => !offeredIds.has(c.taskId))
        .map((c) => card(null, c, privacyTerms)),
    ]
    list.replaceChildren(...items)
    if (items.length === 0) say('No tasks are offered right now. Look again later.')
  }

  /** Asks the coordinator for its tasks again and redraws. */
  async function refresh(): Promise<void> {
    try {
      tasks = await offered()
      if (message.textContent?.startsWith('Could not reach')) say('')
    } catch (error) {
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
