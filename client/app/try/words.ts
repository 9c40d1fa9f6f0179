// What the Try screen says of a model and of a reading, in words. Pure, so each wording is tested.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { endedText, formatAccuracy, isEnded } from '../tasks/describe.ts'
import type { TryModel } from './model.ts'

/** "Current model: 3 of 20 rounds committed; held-out accuracy 80.1%." */
export function currentText(task: DeviceTaskView): string {
  const unit = task.mode === 'async' ? 'model versions' : 'rounds'
  const accuracy =
    task.accuracy === null ? '' : `; held-out accuracy ${formatAccuracy(task.accuracy)}`
  return `Current model: ${task.rounds.committed} of ${task.rounds.total} ${unit} committed${accuracy}.`
}

/** What the coordinator last said of a task's model: how far, how accurate, or how it ended. */
export const chosenText = (task: DeviceTaskView | undefined): string =>
  !task ? '' : isEnded(task.status) ? (endedText(task) ?? '') : currentText(task)

/** A probability as the reading shows it: whole at the ends, else to a tenth. */
export const percent = (p: number) => `${(100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`

/**
 * The model about to read the digit: its preset, its rounds, its accuracy where the coordinator's
 * figure is for this very model, whether the task ended, and where the weights came from.
 */
export function modelText(model: TryModel, taskName: string, task: DeviceTaskView | undefined) {
  const preset = model.spec.preset === 'custom' ? 'a custom model' : model.spec.preset
  const rounds =
    model.committedRounds === null
      ? ''
      : model.committedRounds === 0
        ? ', not trained yet (round 0)'
        : `, after ${model.committedRounds} round${model.committedRounds === 1 ? '' : 's'}`
  const where =
    model.from === 'download'
      ? 'Downloaded now and kept on this phone.'
      : model.from === 'stored'
        ? 'Kept on this phone: nothing downloaded.'
        : `Offline: the copy kept on this phone since ${new Date(model.storedAt).toLocaleString()}.`
  const accuracy =
    task?.accuracy != null && task.rounds.committed === model.committedRounds
      ? ` Held-out accuracy ${formatAccuracy(task.accuracy)}.`
      : ''
  const final = task && isEnded(task.status) ? ' The task has ended: this is its final model.' : ''
  return `${taskName}: ${preset}${rounds}.${accuracy}${final} ${where}`
}
