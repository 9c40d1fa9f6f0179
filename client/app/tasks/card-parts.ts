// The pieces every task card is built from: its heading with the state pill, the purpose as the
// data scientist wrote it (as text, never markup), a term and its value, and the row of buttons.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { h } from '../../ui/dom.ts'
import type { privacyTerms as PrivacyTerms } from '../privacy/terms.ts'
import type { ConditionSource } from './conditions.ts'
import type { ConsentStore } from './consent.ts'

/** What every card needs from the screen. */
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

/** A term and its value, for a card's facts list. */
export const fact = (document: Document, term: string, value: string) => [
  h(document, 'dt', null, term),
  h(document, 'dd', null, value),
]

/** "mnist-2nn, 199,210 parameters". */
export const modelText = (model: DeviceTaskView['model']): string =>
  `${model.preset}, ${model.parameters.toLocaleString('en')} parameters`

/** The privacy terms in words, one value each under one term. */
export const privacyFacts = (document: Document, words: readonly string[]) => [
  h(document, 'dt', null, 'Privacy'),
  ...words.map((text) => h(document, 'dd', 'privacy', text)),
]

/** The task's name as a heading, and its state pill, heading a card. */
export function cardHead(
  document: Document,
  id: string,
  name: string,
  state: string,
  text: string,
) {
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

/** Why the data scientist asks, or that they gave no reason. */
export function purposeOf(document: Document, purpose: string): HTMLElement[] {
  return [
    h(document, 'p', 'label', 'Why they ask'),
    purpose.trim()
      ? h(document, 'blockquote', 'purpose', purpose)
      : h(document, 'p', 'purpose empty', 'The data scientist gave no purpose.'),
  ]
}

/** The card's buttons; each says which task it acts on, for screen readers. */
export function actionsFor(
  document: Document,
  title: HTMLElement,
  ...children: HTMLElement[]
): HTMLDivElement {
  const actions = h(document, 'div', 'actions', ...children)
  for (const control of actions.querySelectorAll('button, a'))
    control.setAttribute('aria-describedby', title.id)
  return actions
}
