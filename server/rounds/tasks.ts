import { randomInt, randomUUID } from 'node:crypto'
import {
  MAX_TASK_SEED,
  mergeTaskPatch,
  type TaskPatch,
  type TaskSpec,
  type TaskView,
} from '../../shared/protocol/index.ts'
import { invalidRequest, PollenError } from '../errors.ts'
import type { ModelInfo } from '../models/index.ts'
import type { TaskRecord } from '../store/index.ts'
import { robustMemoryRefusal, type Strategy } from '../strategy/index.ts'
import type { Core, LiveTask, RoundPolicy } from './live.ts'
import { firstRoundRefusal, type PrivacyBudget } from './privacy-budget.ts'
import { taskStrategy } from './task-strategy.ts'

/** Tasks come and go: create, patch (settings, pause, resume) and delete. */
export function createTasks(
  core: Core,
  deps: {
    budget: PrivacyBudget
    /** The task's base strategy (its own by default), and its rounds' policy. */
    strategyOf: (task: TaskRecord) => Strategy
    policyOf: (task: TaskRecord) => RoundPolicy
    openNextRound: (live: LiveTask) => void
  },
) {
  const { store, models, clock, events, log, tasks } = core
  const { budget, openNextRound } = deps

  /** A task the scheduler now runs, with its own strategy and nothing open yet. */
  function addLiveTask(record: TaskRecord, info: ModelInfo): LiveTask {
    const policy = deps.policyOf(record)
    const live: LiveTask = {
      record,
      info,
      population: 0,
      secureRounds: new Map(),
      strategy: taskStrategy(deps.strategyOf(record), {
        record,
        policy,
        // Called as rounds begin and commit, once `live` is there.
        previousBounds: () => live.bounds,
        charge: (n) => budget.charge(live, n),
        log,
      }),
      policy,
      open: undefined,
      bounds: null,
      queue: Promise.resolve(),
    }
    tasks.set(record.id, live)
    return live
  }

  async function createTask(spec: TaskSpec): Promise<TaskView> {
    // A task starts from its own draw, never from weights another task trained.
    const seed = spec.seed ?? randomInt(MAX_TASK_SEED + 1)
    const { spec: model, hash, info } = await models.create(spec.model, seed)
    const now = clock.now()
    const record: TaskRecord = {
      id: randomUUID(),
      spec: { ...spec, seed, model },
      status: 'running',
      modelHash: hash,
      round: 0,
      committedRounds: 0,
      createdAt: now,
      updatedAt: now,
      error: null,
      optimizerState: null,
      privacySpent: null,
      stoppedReason: null,
    }
    const heavy = robustMemoryRefusal(record.spec, info.trainableParameters)
    if (heavy) throw new PollenError('invalid_request', heavy.message, heavy.field)
    const population = await budget.populationOf(record)
    const first = firstRoundRefusal(record, population)
    if (first) throw new PollenError('over_budget', first, 'privacy.epsilonBudget')
    await store.insertTask(record)
    const live = addLiveTask(record, info)
    live.population = population
    events.publish({ type: 'task.created', task: core.view(live) })
    openNextRound(live)
    return core.view(live)
  }

  /**
   * The task as `patch` would leave it, held to the rules a new task is (the schema's own
   * cross-field rules, through mergeTaskPatch) and to what only the running task knows.
   */
  function patchedSpec(live: LiveTask, patch: TaskPatch): TaskSpec {
    const task = live.record
    const merged = mergeTaskPatch(task.spec, patch)
    if (!merged.ok) throw invalidRequest(merged.issues)
    const heavy = robustMemoryRefusal(merged.spec, live.info.trainableParameters)
    if (heavy) throw new PollenError('invalid_request', heavy.message, heavy.field)
    const atLeast = task.committedRounds + (live.open ? 1 : 0)
    if (merged.spec.rounds.total < atLeast)
      throw new PollenError(
        'invalid_request',
        `rounds.total must be at least ${atLeast}: the rounds committed${live.open ? ' plus the one open' : ''}`,
        'rounds.total',
      )
    if (patch.status && task.status === 'completed')
      throw new PollenError('conflict', `task ${task.id} is ${task.status}`, 'status')
    return merged.spec
  }

  async function patchTask(id: string, patch: TaskPatch): Promise<TaskView> {
    const live = core.liveTask(id)
    const task = live.record
    task.spec = patchedSpec(live, patch)
    const { rounds } = task.spec
    // A failed task resumes from its last committed model (its failed round stays abandoned).
    if (patch.status && task.status === 'failed') task.error = null
    if (patch.status) task.status = patch.status
    if (task.status === 'running' && task.committedRounds >= rounds.total) task.status = 'completed'
    task.updatedAt = clock.now()
    const { spec, status, updatedAt, error } = task
    await core.enqueue(live, () => store.updateTask(id, { spec, status, updatedAt, error }))
    events.publish({ type: 'task.updated', task: core.view(live) })
    openNextRound(live)
    return core.view(live)
  }

  async function deleteTask(id: string): Promise<void> {
    const live = core.liveTask(id)
    tasks.delete(id)
    if (live.open?.timer) clock.clearTimeout(live.open.timer)
    for (const secure of live.secureRounds.values()) secure.dispose('the task was deleted')
    await live.queue
    await store.deleteTask(id)
    events.publish({ type: 'task.deleted', taskId: id })
  }

  return { addLiveTask, createTask, patchTask, deleteTask }
}
