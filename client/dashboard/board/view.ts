// What the board shows beside the coordinator's state: the task chosen, the datasets, which round's
// confusion matrix, and what the coordinator was found to offer. Pure: render, sync and steering
// share one such object.
import type { RoundView, TaskView } from '../../../shared/protocol/index.ts'
import type { DatasetView } from '../api.ts'
import { createState, type DashboardState } from '../state.ts'

export interface BoardView {
  /** The tasks, rounds and devices as the event stream and the REST snapshots tell them. */
  state: DashboardState
  datasets: DatasetView[]
  /** Whether the coordinator answers GET …/rounds/:round/devices (null: not asked yet). */
  deviceDetail: boolean | null
  /** The task chosen (null: none, the newest is shown). */
  selected: string | null
  /** The task whose values the settings form shows; refilled only when another is shown. */
  settingsFor: string | null
  /** The round whose confusion matrix is shown (null: the latest). */
  confusionRound: number | null
}

/** A fresh view; the task chosen comes from the page's `#task=<id>` (a link or a reload). */
export function createView(hash: string): BoardView {
  return {
    state: createState(),
    datasets: [],
    deviceDetail: null,
    selected: decodeURIComponent(hash.replace(/^#task=/, '')) || null,
    settingsFor: null,
    confusionRound: null,
  }
}

/** The task shown: the one chosen, else (nothing chosen, or it was deleted) the newest, chosen. */
export function shownTask(view: BoardView): TaskView | undefined {
  const { selected, state } = view
  if (selected && state.tasks.has(selected)) return state.tasks.get(selected)
  const newest = [...state.tasks.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0]
  if (newest) view.selected = newest.id
  return newest
}

/** The confusion round to keep after choosing `chosen`: choosing the latest follows the latest. */
export function confusionChoice(rounds: readonly RoundView[], chosen: number): number | null {
  const latest = rounds.findLast((r) => r.confusion !== null)?.round
  return chosen === latest ? null : chosen
}
