// What a card lets the owner do, and how each outcome is told: a decision's button (join, pause,
// resume, withdraw, remove) and the conditions on training, saved as they are ticked.
import { h } from '../../ui/dom.ts'
import type { ConsentRecord, TrainingConditions } from '../storage/index.ts'
import type { CardContext } from './card-parts.ts'
import { CONDITIONS } from './conditions.ts'

type ActionContext = Pick<CardContext, 'document' | 'say' | 'render'>

/** A button that runs `run`, then says `done`; `run` resolving false: the owner cancelled. */
export function actionButton(
  { document, say, render }: ActionContext,
  label: string,
  className: string | null,
  run: () => Promise<unknown>,
  done: string,
): HTMLButtonElement {
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

/** Leaves a task joined: this phone no longer takes part in it. */
export const withdrawButton = (ctx: CardContext, id: string, name: string) =>
  actionButton(
    ctx,
    'Withdraw',
    'danger',
    () => ctx.consents.withdraw(id),
    `Withdrew from “${name}”: this phone no longer takes part in it.`,
  )

/** Takes an ended or removed task off the list (the consent goes; History and Privacy stay). */
export const forgetButton = (ctx: CardContext, id: string, name: string) =>
  actionButton(
    ctx,
    'Remove from this list',
    null,
    () => ctx.consents.withdraw(id),
    `Removed “${name}” from this list. History and Privacy keep what this phone sent it.`,
  )

/** The conditions on training for a task joined; one the browser cannot tell is disabled. */
export function conditionsFieldset(
  { document, conditions, consents, say }: CardContext,
  consent: ConsentRecord,
): HTMLFieldSetElement {
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

export const errorText = (error: unknown): string =>
  error instanceof Error ? error.message || error.name : String(error)
