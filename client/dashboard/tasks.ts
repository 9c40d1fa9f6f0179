// The task list: one button per task with its status and how far it got. Items are kept by
// task id and updated in place, so a live update never takes the keyboard focus away.
import type { TaskView } from '../../shared/protocol/index.ts'
import { h } from '../ui/dom.ts'
import { progressLabel } from './task-facts.ts'

/** A task's status as words, and the class that colours it. */
export function statusLabel(task: TaskView): string {
  return { running: 'Running', paused: 'Paused', completed: 'Completed', failed: 'Failed' }[
    task.status
  ]
}

export function renderTaskList(
  doc: Document,
  list: HTMLUListElement,
  tasks: TaskView[],
  selected: string | null,
  onSelect: (id: string) => void,
): void {
  const items = new Map(
    [...list.children].map((li) => [(li as HTMLElement).dataset.taskId ?? '', li as HTMLLIElement]),
  )
  const ordered = [...tasks].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  const wanted = ordered.map((task) => {
    let li = items.get(task.id)
    if (!li) {
      const button = h(
        doc,
        'button',
        'task-button',
        h(doc, 'span', 'task-name'),
        h(doc, 'span', 'status'),
        h(doc, 'span', 'task-progress'),
      )
      button.type = 'button'
      button.addEventListener('click', () => onSelect(task.id))
      li = h(doc, 'li', null, button)
      li.dataset.taskId = task.id
    }
    const button = li.firstElementChild as HTMLButtonElement
    const [name, status, progress] = [...button.children] as HTMLElement[]
    name!.textContent = task.name
    status!.textContent = statusLabel(task)
    status!.dataset.status = task.status
    progress!.textContent = progressLabel(task)
    if (task.id === selected) button.setAttribute('aria-current', 'true')
    else button.removeAttribute('aria-current')
    return li
  })
  // Reorder only where needed: moving the focused element would blur it.
  wanted.forEach((li, index) => {
    if (list.children[index] !== li) list.insertBefore(li, list.children[index] ?? null)
  })
  while (list.children.length > wanted.length) list.lastElementChild!.remove()
}
