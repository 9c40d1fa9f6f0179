// The cards of the tasks screen, one per task: on offer (its terms and the owner's decision),
// ended (how it ended, nothing left to decide), removed, or as joined while the coordinator cannot
// be reached. Loaded with the screen's first render, apart from the page's first bundle.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { h } from '../../ui/dom.ts'
import type { privacyTerms as PrivacyTerms } from '../privacy/terms.ts'
import type { ConsentRecord, TrainingConditions } from '../storage/index.ts'
import { CONDITIONS, type ConditionSource } from './conditions.ts'
import type { ConsentStore } from './consent.ts'
import { endedLabel, endedText, joinable, progressFacts, sentText } from './describe.ts'

export interface CardContext {
  document: Document
  consents: ConsentStore
  conditions: ConditionSource
  privacyTerms: typeof PrivacyTerms
  /** Says what happened, on the screen's message line. */
  say: (text: string, tone?: 'ok' | 'error' | 'info') => void
  /** Draws the screen again, after a decision. */
  render: () => Promise<void>
}

export function taskCards({
  document,
  consents,
  conditions,
  privacyTerms,
  say,
  render,
}: CardContext) {
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

  /** A button that runs `run`, then says `done`; `run` resolving false: the owner cancelled. */
  function act(label: string, className: string | null, run: () => Promise<unknown>, done: string) {
    const button = h(document, 'button', className, label)
    button.type = 'button'
    button.addEventListener('click', () => {
      button.disabled = true
      run()
        .then(async (result) => {
          if (result === false) {
            button.disabled = false
            return
          }
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

  /** The task's name as a heading, and its state pill, heading a card. */
  function head(id: string, name: string, state: string, text: string) {
    const title = h(document, 'h2', null, name)
    title.id = `task-${id}`
    const item = h(
      document,
      'li',
      'card task',
      h(document, 'div', 'task-head', title, h(document, 'span', `state ${state}`, text)),
    )
    item.dataset.taskId = id
    item.setAttribute('aria-labelledby', title.id)
    return { item, title }
  }

  function purposeOf(purpose: string): HTMLElement[] {
    return [
      h(document, 'p', 'label', 'Why they ask'),
      purpose.trim()
        ? h(document, 'blockquote', 'purpose', purpose)
        : h(document, 'p', 'purpose empty', 'The data scientist gave no purpose.'),
    ]
  }

  /** Buttons say which task they act on, for screen readers. */
  function actionsFor(title: HTMLElement, ...children: HTMLElement[]): HTMLDivElement {
    const actions = h(document, 'div', 'actions', ...children)
    for (const control of actions.querySelectorAll('button, a'))
      control.setAttribute('aria-describedby', title.id)
    return actions
  }

  /** Takes an ended or removed task off the list (the consent goes; History and Privacy stay). */
  const forget = (id: string, name: string) =>
    act(
      'Remove from this list',
      null,
      () => consents.withdraw(id),
      `Removed “${name}” from this list. History and Privacy keep what this phone sent it.`,
    )

  /** A task on offer (running or paused): its terms, and the owner's decision on it. */
  function offeredCard(task: DeviceTaskView, consent: ConsentRecord | undefined): HTMLLIElement {
    const stateText = !consent ? 'Not joined' : consent.state === 'granted' ? 'Joined' : 'Paused'
    const { item, title } = head(task.id, task.name, consent?.state ?? 'none', stateText)
    item.append(...purposeOf(task.purpose))
    const changed = consent !== undefined && consent.purpose !== task.purpose
    if (changed) {
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
    const terms = privacyTerms(task.privacy)
    item.append(
      h(
        document,
        'dl',
        'facts',
        ...fact('What leaves this phone', sentText(task)),
        ...fact(
          'Model',
          `${task.model.preset}, ${task.model.parameters.toLocaleString('en')} parameters`,
        ),
        ...progressFacts(task).flatMap(([term, value]) => fact(term, value)),
        ...fact('Your data it trains on', `Your “${task.dataset}” examples, on this phone`),
        h(document, 'dt', null, 'Privacy'),
        ...terms.map((words) => h(document, 'dd', 'privacy', words)),
      ),
    )
    if (task.status === 'paused')
      item.append(h(document, 'p', 'hint', 'The data scientist paused this task for now.'))
    if ((!consent || changed) && !joinable(task)) {
      item.append(
        h(
          document,
          'p',
          'hint',
          'Pollen does not let phones join a task without a purpose: the data scientist has to ' +
            'say why they ask first.',
        ),
      )
    }

    const buttons: HTMLElement[] = []
    if ((!consent || changed) && joinable(task)) {
      buttons.push(
        act(
          changed ? 'Join again' : 'Join',
          'primary',
          async () => {
            // The terms first: nothing is agreed, and nothing trains, until the owner confirms.
            const { confirmJoin } = await import('./confirm.ts')
            if (!(await confirmJoin(task, terms, document))) return false
            await consents.join(task)
            return true
          },
          `You joined “${task.name}”. Pollen trains for it while your conditions hold.`,
        ),
      )
    }
    if (consent?.state === 'granted' && !changed) {
      buttons.push(
        act(
          'Pause',
          null,
          () => consents.pause(task.id),
          `Paused “${task.name}”: nothing trains for it.`,
        ),
      )
    }
    if (consent?.state === 'paused' && !changed)
      buttons.push(act('Resume', null, () => consents.resume(task.id), `Resumed “${task.name}”.`))
    if (consent) buttons.push(withdraw(task.id, task.name))
    item.append(actionsFor(title, ...buttons))
    if (consent) item.append(conditionsFieldset(consent))
    return item
  }

  const withdraw = (id: string, name: string) =>
    act(
      'Withdraw',
      'danger',
      () => consents.withdraw(id),
      `Withdrew from “${name}”: this phone no longer takes part in it.`,
    )

  /** A task that ended: how, how far it got and its final accuracy; nothing left to decide. */
  function endedCard(task: DeviceTaskView): HTMLLIElement {
    const { item, title } = head(task.id, task.name, 'ended', endedLabel(task))
    item.classList.add('ended')
    const tryIt = h(document, 'a', 'button', 'Try its final model')
    tryIt.href = '#try'
    item.append(
      ...purposeOf(task.purpose),
      h(document, 'p', 'outcome-text', endedText(task) ?? ''),
      h(document, 'p', 'hint', 'Nothing trains for it any more.'),
      h(
        document,
        'dl',
        'facts',
        ...fact(
          'Model',
          `${task.model.preset}, ${task.model.parameters.toLocaleString('en')} parameters`,
        ),
        ...fact('Your data it trained on', `Your “${task.dataset}” examples, on this phone`),
        h(document, 'dt', null, 'Privacy'),
        ...privacyTerms(task.privacy).map((words) => h(document, 'dd', 'privacy', words)),
      ),
      actionsFor(title, tryIt, forget(task.id, task.name)),
    )
    return item
  }

  /** A task joined that the coordinator no longer lists: its data scientist deleted it. */
  function removedCard(consent: ConsentRecord): HTMLLIElement {
    const { item, title } = head(consent.taskId, consent.taskName, 'ended', 'Removed')
    item.classList.add('ended')
    item.append(
      ...purposeOf(consent.purpose),
      h(
        document,
        'p',
        'outcome-text',
        'The data scientist removed this task from the coordinator. Nothing trains for it, ' +
          'and its model can no longer be tried.',
      ),
      actionsFor(title, forget(consent.taskId, consent.taskName)),
    )
    return item
  }

  /** A task joined, while the coordinator cannot be reached: as the owner agreed to it. */
  function storedCard(consent: ConsentRecord): HTMLLIElement {
    const stateText = consent.state === 'granted' ? 'Joined' : 'Paused'
    const { item, title } = head(consent.taskId, consent.taskName, consent.state, stateText)
    item.append(
      ...purposeOf(consent.purpose),
      h(
        document,
        'p',
        'hint',
        'The coordinator cannot be reached, so this is the task as you joined it.',
      ),
    )
    const buttons =
      consent.state === 'granted'
        ? [
            act(
              'Pause',
              null,
              () => consents.pause(consent.taskId),
              `Paused “${consent.taskName}”.`,
            ),
          ]
        : []
    item.append(actionsFor(title, ...buttons, withdraw(consent.taskId, consent.taskName)))
    item.append(conditionsFieldset(consent))
    return item
  }

  return { offeredCard, endedCard, removedCard, storedCard }
}

const errorText = (error: unknown): string =>
  error instanceof Error ? error.message || error.name : String(error)
