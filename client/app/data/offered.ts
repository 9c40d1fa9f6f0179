// Which datasets the data screen offers: those of the tasks this phone may still join or train.
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { isEnded } from '../../../shared/protocol/ended.ts'

/** The datasets of the tasks not ended, once each, in the tasks' order. */
export function datasetsOffered(
  tasks: readonly Pick<DeviceTaskView, 'status' | 'datasetSpec'>[],
): DatasetSpec[] {
  const seen = new Map<string, DatasetSpec>()
  for (const { status, datasetSpec } of tasks) {
    // A task on a dataset no longer declared says nothing of what its examples are.
    if (isEnded(status) || !datasetSpec || seen.has(datasetSpec.name)) continue
    seen.set(datasetSpec.name, datasetSpec)
  }
  return [...seen.values()]
}
