import type { DatasetHeld, DatasetSpec, TaskSpec } from '../../shared/protocol/index.ts'
import { fitModelToDataset } from '../../shared/models/fit.ts'
import { PollenError } from '../errors.ts'

/**
 * A new task as it will run on its dataset: the dataset must be declared, and the model fit it
 * (a preset takes its inputs and classes from the dataset; any model's input shape and classes
 * must match). `spec` undefined: no such dataset.
 */
export function fitTaskToDataset(task: TaskSpec, dataset: DatasetSpec | undefined): TaskSpec {
  if (!dataset)
    throw new PollenError(
      'invalid_request',
      `dataset ${task.dataset} is not declared: declare it first with POST /api/v1/datasets (its features and classes), then create the task`,
      'dataset',
    )
  const fit = fitModelToDataset(task.model, dataset)
  if (!fit.ok) throw new PollenError('invalid_request', fit.message, 'model')
  return { ...task, model: fit.model as TaskSpec['model'] }
}

/**
 * A check-in's histograms against the declared datasets: a histogram longer than its dataset's
 * classes is clipped when the extra entries are all 0 (a fixed-size counter), and refused when
 * they count examples, which would be labels the dataset does not have. Undeclared names pass.
 */
export function checkDeclaredHistograms(
  held: readonly DatasetHeld[],
  specOf: (name: string) => DatasetSpec | undefined,
): DatasetHeld[] {
  return held.map((d, i) => {
    const classes = specOf(d.name)?.classes.length
    if (classes === undefined || d.labels.length <= classes) return d
    const extra = d.labels.findIndex((n, label) => label >= classes && n > 0)
    if (extra >= 0)
      throw new PollenError(
        'invalid_request',
        `dataset ${d.name} has ${classes} classes (labels 0 to ${classes - 1}); this device counts ${d.labels[extra]} example(s) of label ${extra}`,
        `datasets.${i}.labels`,
      )
    return { ...d, labels: d.labels.slice(0, classes) }
  })
}
