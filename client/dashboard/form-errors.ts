// A refused form, explained: each field the server (or the form) named is marked invalid, gets
// its message beside it, and the summary above the button lists them by their labels.
import { h } from '../ui/dom.ts'
import { plainMessage } from './plain-words.ts'
import type { FieldIssue } from './task-form.ts'

/** The control an issue is shown beside: the one whose `name` is the issue's field. */
export interface IssueControl {
  id: string
  /** Its label's text (null: it has none). */
  label: string | null
  /** A checkbox's message goes after its label, not between the box and the label. */
  checkbox: boolean
}

export interface PlacedIssue {
  issue: FieldIssue
  /** Null where no control with an id has the field's name: the summary alone tells it. */
  control: IssueControl | null
  /** The id of the message beside the control. */
  noteId: string | null
  /** What is wrong, in plain words and the form's names for the fields it mentions. */
  message: string
  /** The summary's line: the field's label (or, without one, its name) and the message. */
  line: string
}

/**
 * Fields the server names as a whole that the form sets through one control: the model (a
 * model that does not fit the dataset) is chosen by its preset.
 */
const STANDS_FOR: Readonly<Record<string, string>> = { model: 'model.preset' }

/**
 * Where each issue is shown, by `controlNamed(issue.field)`, and what it says: the form's labels
 * (`labels`: field name → label) stand for the API's names. The page's text goes in as text.
 */
export function placeIssues(
  issues: FieldIssue[],
  controlNamed: (name: string) => IssueControl | null,
  labels: ReadonlyMap<string, string> = new Map(),
): PlacedIssue[] {
  return issues.map((issue) => {
    const stand = STANDS_FOR[issue.field]
    const control = controlNamed(issue.field) ?? (stand ? controlNamed(stand) : null)
    const message = plainMessage(issue.message, labels)
    if (!control)
      return { issue, control, noteId: null, message, line: `${issue.field}: ${message}` }
    return {
      issue,
      control,
      noteId: `${control.id}-error`,
      message,
      line: `${control.label ?? issue.field}: ${message}`,
    }
  })
}

/** The form's field names and their labels' text. */
function formLabels(form: HTMLFormElement): Map<string, string> {
  const labels = new Map<string, string>()
  for (const control of form.querySelectorAll<HTMLElement>('[name][id]')) {
    const label = form.querySelector(`label[for="${CSS.escape(control.id)}"]`)?.textContent?.trim()
    const name = control.getAttribute('name')
    if (label && name) labels.set(name, label.replace(/\s+/g, ' '))
  }
  return labels
}

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
  const labelOf = (id: string) => form.querySelector(`label[for="${CSS.escape(id)}"]`)
  const placed = placeIssues(
    issues,
    (name) => {
      const input = form.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]`)
      if (!input?.id) return null
      return {
        id: input.id,
        label: labelOf(input.id)?.textContent?.trim() ?? null,
        checkbox: input instanceof HTMLInputElement && input.type === 'checkbox',
      }
    },
    formLabels(form),
  )
  for (const { control, noteId, message } of placed) {
    if (!control || !noteId) continue
    const input = doc.getElementById(control.id)!
    const note = h(doc, 'span', 'field-error', message)
    note.id = noteId
    const anchor = (control.checkbox && labelOf(control.id)) || input
    anchor.after(note)
    input.setAttribute('aria-invalid', 'true')
    input.setAttribute(
      'aria-describedby',
      [input.getAttribute('aria-describedby'), note.id].filter(Boolean).join(' '),
    )
  }
  box.append(
    h(doc, 'p', null, issues.length === 1 ? 'Please fix this:' : 'Please fix these:'),
    h(doc, 'ul', null, ...placed.map(({ line }) => h(doc, 'li', null, line))),
  )
  // Take the keyboard to the first field to fix.
  form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus()
}
