// The "New task" form: the settings privacy asks for, the ε it would spend, a custom topology,
// creating the task, and a clone of another task put into it to edit.
import type { TaskView } from '../../shared/protocol/index.ts'
import { byId } from '../ui/dom.ts'
import { ApiError, errorText, type Api } from './api.ts'
import { cloneDraft, withCarried, type CloneDraft } from './clone.ts'
import { clearIssues, showIssues } from './form-errors.ts'
import { estimateSpend, readTaskForm, readTopology, spendText } from './task-form.ts'

/** A form's values by input name, as it stands now: null for a field absent or unchecked. */
export function formValues(form: HTMLFormElement): (name: string) => string | null {
  const data = new FormData(form)
  return (name) => {
    const value = data.get(name)
    return typeof value === 'string' ? value : null
  }
}

export interface CreateForm {
  /** Puts `task`'s settings into the form, opens it, and says so. */
  cloneFrom(task: TaskView): Promise<void>
}

export function setUpCreateForm(
  doc: Document,
  {
    api,
    signal,
    onCreated,
  }: { api: Api; signal: AbortSignal; onCreated: (task: TaskView) => void },
): CreateForm {
  const el = {
    create: byId(doc, 'create', HTMLDetailsElement),
    form: byId(doc, 'create-form', HTMLFormElement),
    errors: byId(doc, 'create-errors', HTMLElement),
    cloneNote: byId(doc, 'create-clone-note', HTMLElement),
    model: byId(doc, 'create-model', HTMLSelectElement),
    topologyField: byId(doc, 'create-topology-field', HTMLElement),
    topology: byId(doc, 'create-topology', HTMLInputElement),
    dp: byId(doc, 'create-dp', HTMLInputElement),
    dpFields: byId(doc, 'create-dp-fields', HTMLElement),
    dpSpend: byId(doc, 'create-dp-spend', HTMLOutputElement),
    secure: byId(doc, 'create-secure', HTMLInputElement),
    secureFields: byId(doc, 'create-secure-fields', HTMLElement),
  }
  const on = { signal }
  /** What a clone carries beyond the form's fields, until the form is created or reset. */
  let clone: { draft: CloneDraft; topology: Record<string, unknown> | null } | null = null

  el.model.addEventListener(
    'change',
    () => (el.topologyField.hidden = el.model.value !== 'custom'),
    on,
  )

  /** Shows the settings each privacy checkbox asks for, and what ε the task would spend. */
  function syncPrivacy() {
    el.dpFields.hidden = !el.dp.checked
    el.secureFields.hidden = !el.secure.checked
    if (!el.dp.checked) {
      el.dpSpend.textContent = ''
      return
    }
    const spend = estimateSpend(formValues(el.form))
    el.dpSpend.textContent = spend.ok ? spendText(spend.value) : spend.message
  }
  // Every field's input bubbles here: the checkboxes, σ and δ, and the round settings q counts.
  el.form.addEventListener('input', syncPrivacy, on)
  el.form.addEventListener(
    'submit',
    (event) => {
      event.preventDefault()
      void create()
    },
    on,
  )

  function reset() {
    el.form.reset()
    clone = null
    el.cloneNote.textContent = ''
    el.topologyField.hidden = true
    syncPrivacy()
  }

  async function create() {
    const form = el.form
    let topology: Record<string, unknown> | null = null
    const file = el.topology.files?.[0]
    if (el.model.value === 'custom' && file) {
      const read = readTopology(await file.text())
      if (!read.ok) return showIssues(form, el.errors, read.issues)
      topology = read.value
    } else if (el.model.value === 'custom') topology = clone?.topology ?? null
    const read = readTaskForm(formValues(form), topology)
    if (!read.ok) return showIssues(form, el.errors, read.issues)
    clearIssues(form, el.errors)
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]')!
    button.disabled = true
    try {
      const spec = clone ? withCarried(read.value, clone.draft.carried) : read.value
      const task = await api.createTask(spec)
      reset()
      el.create.open = false
      onCreated(task)
    } catch (error) {
      if (error instanceof ApiError && error.issues.length > 0)
        showIssues(form, el.errors, error.issues)
      else el.errors.textContent = `Could not create the task: ${errorText(error)}`
    } finally {
      button.disabled = false
    }
  }

  async function cloneFrom(task: TaskView) {
    reset()
    const draft = cloneDraft(task)
    for (const [name, value] of Object.entries(draft.values)) {
      const control = el.form.querySelector<HTMLInputElement | HTMLSelectElement>(
        `[name="${CSS.escape(name)}"]`,
      )
      if (control) control.value = value
    }
    for (const [name, checked] of Object.entries(draft.checks)) {
      const box = el.form.querySelector<HTMLInputElement>(`[name="${CSS.escape(name)}"]`)
      if (box) box.checked = checked
    }
    // A custom model's topology is not in the task's view: its model.json has it.
    const topology =
      task.model.preset === 'custom'
        ? ((await api.modelJson(task.id).catch(() => null))?.modelTopology ?? null)
        : null
    clone = { draft, topology }
    el.topologyField.hidden = task.model.preset !== 'custom'
    syncPrivacy()
    el.cloneNote.textContent =
      `Cloned from “${draft.from}”: edit and create. Its mode (${task.mode}), aggregation, ` +
      `work sizing and eligibility are kept as they were` +
      (task.model.preset === 'custom'
        ? topology
          ? '; so is its uploaded model (or choose another file)'
          : '; choose its model file again'
        : '') +
      '. It starts from a new seed of its own.'
    el.create.open = true
    el.create.scrollIntoView({ block: 'start' })
    byId(doc, 'create-name', HTMLInputElement).focus()
  }

  return { cloneFrom }
}
