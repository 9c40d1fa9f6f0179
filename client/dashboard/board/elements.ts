// The page's nodes that the board draws into and listens on, looked up once when it starts: the
// dashboard's markup is a contract, and a missing node fails here rather than at the first event.
import { byId } from '../../ui/dom.ts'

export function boardElements(doc: Document) {
  return {
    connection: byId(doc, 'connection', HTMLElement),
    taskList: byId(doc, 'task-list', HTMLUListElement),
    noTasks: byId(doc, 'no-tasks', HTMLElement),
    datasetNames: byId(doc, 'dataset-names', HTMLDataListElement),
    datasets: byId(doc, 'datasets', HTMLUListElement),
    datasetsSummary: byId(doc, 'datasets-summary', HTMLElement),
    datasetsSearch: byId(doc, 'datasets-search', HTMLInputElement),
    noTask: byId(doc, 'no-task', HTMLElement),
    task: byId(doc, 'task', HTMLElement),
    taskTitle: byId(doc, 'task-title', HTMLElement),
    taskStatus: byId(doc, 'task-status', HTMLElement),
    taskPurpose: byId(doc, 'task-purpose', HTMLElement),
    taskFacts: byId(doc, 'task-facts', HTMLElement),
    taskError: byId(doc, 'task-error', HTMLElement),
    taskMessage: byId(doc, 'task-message', HTMLElement),
    pause: byId(doc, 'pause', HTMLButtonElement),
    round: byId(doc, 'round', HTMLElement),
    roundParts: {
      title: byId(doc, 'round-word', HTMLElement),
      number: byId(doc, 'round-number', HTMLElement),
      countdown: byId(doc, 'countdown', HTMLElement),
      summary: byId(doc, 'round-summary', HTMLElement),
      bar: byId(doc, 'stage-bar', HTMLElement),
      stages: byId(doc, 'stages', HTMLDListElement),
      traffic: byId(doc, 'traffic', HTMLTableElement),
    },
    timeline: byId(doc, 'timeline', HTMLElement),
    timelineNote: byId(doc, 'timeline-note', HTMLElement),
    timelineList: byId(doc, 'timeline-list', HTMLOListElement),
    charts: byId(doc, 'charts', HTMLElement),
    chartGrid: byId(doc, 'chart-grid', HTMLElement),
    fairness: byId(doc, 'fairness', HTMLElement),
    byTier: byId(doc, 'by-tier', HTMLTableElement),
    byBackend: byId(doc, 'by-backend', HTMLTableElement),
    partialWork: byId(doc, 'partial-work', HTMLElement),
    byRound: byId(doc, 'by-round', HTMLTableElement),
    byLabel: byId(doc, 'by-label', HTMLTableElement),
    models: byId(doc, 'models', HTMLElement),
    roundModels: byId(doc, 'round-models', HTMLTableElement),
    confusion: byId(doc, 'confusion', HTMLElement),
    confusionParts: {
      table: byId(doc, 'confusion-table', HTMLTableElement),
      choose: byId(doc, 'confusion-round', HTMLSelectElement),
      note: byId(doc, 'confusion-note', HTMLElement),
    },
    settings: byId(doc, 'settings', HTMLFormElement),
    settingsErrors: byId(doc, 'settings-errors', HTMLElement),
    settingsMessage: byId(doc, 'settings-message', HTMLElement),
  }
}

export type BoardElements = ReturnType<typeof boardElements>

/** The form's input named `name`; a missing one is an error unless `optional`. */
export function field(form: HTMLFormElement, name: string): HTMLInputElement
export function field(form: HTMLFormElement, name: string, optional: true): HTMLInputElement | null
export function field(
  form: HTMLFormElement,
  name: string,
  optional = false,
): HTMLInputElement | null {
  const input = form.querySelector<HTMLInputElement>(`[name="${name}"]`)
  if (!input && !optional) throw new Error(`the form has no field ${name}`)
  return input
}
