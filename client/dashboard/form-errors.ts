// A refused form, explained: each field the server (or the form) named is marked invalid, gets
// its message beside it, and the summary above the button lists them by their labels.
import { h } from '../app/dom.ts'
import type { FieldIssue } from './task-form.ts'

export function clearIssues(form: HTMLFormElement, box: HTMLElement): void {
  box.replaceChildren()
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) {
    el.removeAttribute('aria-invalid')
    const describedBy = (el.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .filter((id) => id !== '' && !id.endsWith('-error'))
    if (describedBy.length > 0) el.setAttribute('aria-describedby', describedBy.join(' '))
    else el.removeAttribute('aria-describedby')
  }
  for (const el of form.querySelectorAll('.field-error')) el.remove()
}

export function showIssues(form: HTMLFormElement, box: HTMLElement, issues: FieldIssue[]): void {
  clearIssues(form, box)
  const doc = form.ownerDocument
  const lines = issues.map((issue) => {
    const input = form.querySelector<HTMLElement>(`[name="${CSS.escape(issue.field)}"]`)
    if (!input?.id) return `${issue.field}: ${issue.message}`
    const label = form.querySelector(`label[for="${CSS.escape(input.id)}"]`)?.textContent?.trim()
    const note = h(doc, 'span', 'field-error', issue.message)
    note.id = `${input.id}-error`
    input.after(note)
    input.setAttribute('aria-invalid', 'true')
    input.setAttribute(
      'aria-describedby',
      [input.getAttribute('aria-describedby'), note.id].filter(Boolean).join(' '),
    )
    return `${label ?? issue.field} (${issue.field}): ${issue.message}`
  })
  box.append(
    h(doc, 'p', null, issues.length === 1 ? 'Please fix this:' : 'Please fix these:'),
    h(doc, 'ul', null, ...lines.map((line) => h(doc, 'li', null, line))),
  )
  // Take the keyboard to the first field to fix.
  form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus()
}
