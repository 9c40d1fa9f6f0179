// Messages on the data screen: one element per form, an alert when it is an error.

import { h } from '../../ui/dom.ts'

export type Tone = 'ok' | 'error' | 'info'

/** A form's message element: read out politely as it changes (speaker makes errors alerts). */
export function liveMessage(document: Document, tag: 'p' | 'div'): HTMLElement {
  const message = h(document, tag, 'message')
  message.setAttribute('aria-live', 'polite')
  return message
}

/** Writes a message into `element`, as an alert when it is an error. */
export function speaker(element: HTMLElement) {
  return (tone: Tone, ...content: (Node | string)[]) => {
    element.setAttribute('role', tone === 'error' ? 'alert' : 'status')
    element.className = `message ${tone}`
    element.replaceChildren(...content)
  }
}

export const errorText = (error: unknown): string =>
  error instanceof Error ? error.message || error.name : String(error)

export const plural = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`
