// The rounds of a task as CSV, built in the browser: one row per round, what GET …/rounds says.
import type { RoundView, TaskView } from '../../shared/protocol/index.ts'

type Cell = string | number | null

/**
 * RFC 4180: a field with a comma, quote, line break or edge space is quoted, quotes doubled.
 * Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first: a task name is
 * anyone's text) gets a leading apostrophe, as OWASP advises; numbers are left alone.
 */
export function csvField(value: Cell): string {
  if (value === null) return ''
  const text = typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value)
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export const csvLine = (cells: Cell[]) => cells.map(csvField).join(',')

export const ROUND_COLUMNS = [
  'task',
  'taskId',
  'round',
  'status',
  'selected',
  'reported',
  'late',
  'rejected',
  'dropped',
  'examples',
  'accuracy',
  'loss',
  'trainingLoss',
  'epsilon',
  'bytesUp',
  'bytesDown',
  'startedAt',
  'deadlineAt',
  'closedAt',
  'durationSeconds',
  'waitingSeconds',
  'trainingSeconds',
  'baseModel',
  'model',
] as const

/** CSV text, header first, lines ended by CRLF as RFC 4180 has it. */
export function roundsCsv(
  task: Pick<TaskView, 'id' | 'name'>,
  rounds: readonly RoundView[],
): string {
  const rows = rounds.map((r) =>
    csvLine([
      task.name,
      task.id,
      r.round,
      r.status,
      r.selected,
      r.reported,
      r.late,
      r.rejected,
      r.dropped,
      r.examples,
      r.accuracy,
      r.loss,
      r.trainingLoss,
      r.epsilon,
      r.bytesUp,
      r.bytesDown,
      r.startedAt,
      r.deadlineAt,
      r.closedAt,
      r.closedAt === null ? null : (Date.parse(r.closedAt) - Date.parse(r.startedAt)) / 1000,
      r.waitingSeconds,
      r.trainingSeconds,
      r.baseModel,
      r.model,
    ]),
  )
  return [csvLine([...ROUND_COLUMNS]), ...rows].join('\r\n') + '\r\n'
}
