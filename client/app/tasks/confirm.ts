// The join confirmation: before a first round trains, the owner reads what they agree to (why the
// data scientist asks, what leaves the phone, the privacy) and confirms it, in a modal dialog
// named after the task. Escape or Cancel agrees to nothing.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { h } from '../../ui/dom.ts'
import { sentText } from './describe.ts'

/** Shows the terms of `task`; resolves true when the owner confirms, false otherwise. */
export function confirmJoin(
  task: DeviceTaskView,
  privacy: readonly string[],
  document: Document = globalThis.document,
): Promise<boolean> {
  const title = h(document, 'h2', null, `Join “${task.name}”?`)
  title.id = 'confirm-join-title'
  const intro = h(
    document,
    'p',
    null,
    'Read what you agree to. Nothing trains for this task until you confirm.',
  )
  intro.id = 'confirm-join-text'
  const term = (name: string, ...values: (string | Node)[]) => [
    h(document, 'dt', null, name),
    ...values.map((v) => h(document, 'dd', null, v)),
  ]
  const cancel = h(document, 'button', null, 'Cancel')
  cancel.value = 'cancel'
  cancel.autofocus = true
  const join = h(document, 'button', 'primary', 'Join and train')
  join.value = 'join'
  const form = h(
    document,
    'form',
    null,
    title,
    intro,
    h(
      document,
      'dl',
      'terms',
      ...term('Why they ask', h(document, 'span', 'purpose', task.purpose)),
      ...term('What leaves this phone', sentText(task)),
      ...term('Your data it trains on', `Your “${task.dataset}” examples, here on this phone`),
      ...term('Privacy', ...privacy),
    ),
    h(
      document,
      'p',
      'hint',
      'It trains while your conditions hold. You can pause or withdraw on the Tasks screen at any time.',
    ),
    h(document, 'div', 'actions', cancel, join),
  )
  form.method = 'dialog'
  const dialog = h(document, 'dialog', 'confirm-join', form)
  dialog.setAttribute('aria-labelledby', title.id)
  dialog.setAttribute('aria-describedby', intro.id)
  document.body.append(dialog)
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        resolve(dialog.returnValue === 'join')
        dialog.remove()
      },
      { once: true },
    )
    dialog.showModal()
  })
}
