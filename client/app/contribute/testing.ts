// For the contribute loop's unit tests in Node: fake-indexeddb databases under fresh names, a
// task view to join, and an assignment for it.
import 'fake-indexeddb/auto'
import type { Assignment, DeviceTaskView } from '../../../shared/protocol/index.ts'
import { openPollenDB, type PollenDatabase } from '../storage/index.ts'

let n = 0
/** A fresh phone database (fake-indexeddb). */
export const freshDb = (): Promise<PollenDatabase> =>
  openPollenDB({ name: `pollen-contribute-unit-${n++}` })

export const taskView = (id: string, dataset = 'mnist'): DeviceTaskView => ({
  id,
  name: `task ${id}`,
  purpose: 'read digits',
  datasetSpec: null,
  status: 'running',
  endedAt: null,
  mode: 'sync',
  async: null,
  accuracy: null,
  dataset,
  model: { preset: 'mnist-2nn', parameters: 199_210 },
  updateBytes: 796_840,
  rounds: { total: 3, committed: 0, deadlineSeconds: 120 },
  privacy: { differentialPrivacy: null, secureAggregation: false },
})

export const assignmentFor = (taskId: string, over: Partial<Assignment> = {}): Assignment => ({
  type: 'assignment',
  taskId,
  round: 1,
  dataset: 'mnist',
  model: { spec: { preset: 'mnist-2nn' }, hash: 'ab'.repeat(32), url: '/m' },
  plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1 },
  deadline: new Date(Date.now() + 60_000).toISOString(),
  uploadUrl: `/api/v1/tasks/${taskId}/rounds/1/updates`,
  ...over,
})
