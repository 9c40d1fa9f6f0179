import {
  type DeviceTaskView,
  type RoundDeviceView,
  type RoundView,
  speedTier,
  type TaskView,
} from '../../shared/protocol/index.ts'
import { PollenError } from '../errors.ts'
import { deviceTaskView, latestAccuracy } from './device-view.ts'
import type { Core } from './live.ts'
import type { TaskGauges, TaskModel } from './types.ts'
import { roundView } from './views.ts'

/** What the API reads: tasks, rounds, their devices and models, gauges. */
export function createQueries(core: Core) {
  const { store, tasks } = core
  const accuracyOf = latestAccuracy(store)

  /** Every device selected in a round, with where it got to (the dashboard's timeline). */
  async function roundDevices(id: string, n: number): Promise<RoundDeviceView[]> {
    const live = core.liveTask(id)
    if (!Number.isInteger(n) || n < 1 || n > live.record.round)
      throw new PollenError('not_found', `task ${id} has no round ${n}`, 'round')
    await live.queue
    const [assignments, devices] = await Promise.all([
      store.listAssignments(id, n),
      store.listDevices(),
    ])
    const labels = new Map(devices.map((d) => [d.id, d.label]))
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
    return assignments.map((a) => ({
      deviceId: a.deviceId,
      label: labels.get(a.deviceId) ?? null,
      backend: a.backend,
      tier: speedTier(a.examplesPerSecond),
      state: a.state,
      assignedAt: new Date(a.assignedAt).toISOString(),
      downloadedAt: iso(a.downloadedAt),
      answeredAt: iso(a.answeredAt),
      examples: a.examples,
      bytesUp: a.bytesUp,
    }))
  }

  /**
   * The tasks phones are told of: on offer (running, paused) and ended (completed, failed), so
   * that the phones that took part can still try the final model. Waits for each task's writes,
   * so its latest committed round is stored.
   */
  const deviceTasks = (): Promise<DeviceTaskView[]> =>
    Promise.all(
      [...tasks.values()].map(async (live) => {
        await live.queue
        const { record } = live
        const spec = core.datasets.spec(record.spec.dataset) ?? null
        return deviceTaskView(record, live.info, await accuracyOf(record), spec)
      }),
    )

  async function listRounds(id: string): Promise<RoundView[]> {
    const live = core.liveTask(id)
    await live.queue
    const classes = core.classesOf(live)
    const rounds = (await store.listRounds(id)).map((r) => roundView(r, classes))
    // The open round's counters are freshest in memory.
    const open = live.open
    return open
      ? rounds.map((r) => (r.round === open.record.round ? roundView(open.record, classes) : r))
      : rounds
  }

  /** The model a committed round of a task made: 404 for no such round, 409 for one that made none. */
  async function roundModel(id: string, n: number): Promise<TaskModel> {
    const live = core.liveTask(id)
    await live.queue
    const round = (await store.listRounds(id)).find((r) => r.round === n)
    if (!round) throw new PollenError('not_found', `task ${id} has no round ${n}`, 'round')
    if (round.status !== 'committed' || round.model === null)
      throw new PollenError(
        'conflict',
        round.status === 'open'
          ? `round ${n} is still open: its model is not committed yet`
          : `round ${n} was abandoned: it committed no model`,
        'round',
      )
    return { spec: live.record.spec.model, hash: round.model, info: live.info }
  }

  /** The current global model of a task. */
  function currentModel(id: string): TaskModel {
    const live = core.liveTask(id)
    return { spec: live.record.spec.model, hash: live.record.modelHash, info: live.info }
  }

  /** Gauges for /metrics. */
  const snapshot = (): TaskGauges[] =>
    [...tasks.values()].map((t) => ({
      id: t.record.id,
      status: t.record.status,
      selected: t.open?.record.selected ?? 0,
      reported: t.open?.record.reported ?? 0,
    }))

  return {
    getTask: (id: string): TaskView => core.view(core.liveTask(id)),
    listTasks: (): TaskView[] => [...tasks.values()].map((live) => core.view(live)),
    roundDevices,
    deviceTasks,
    listRounds,
    roundModel,
    currentModel,
    snapshot,
  }
}
