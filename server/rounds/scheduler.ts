import { randomInt, randomUUID } from 'node:crypto'
import { allFinite, stalenessWeight } from '../../shared/aggregation/index.ts'
import {
  type Assignment,
  type UpdateMetadata,
  UpdateMetadataSchema,
  describeIssues,
  type CheckinAnswer,
  type CheckinRequest,
  type DeviceTaskView,
  noParticipation,
  type RoundDeviceView,
  type PrivacySettings,
  isPrivate,
  MAX_TASK_SEED,
  type RoundSettings,
  selectedPerRound,
  type RoundView,
  type TaskPatch,
  type TaskSpec,
  type TaskView,
  type TrainSettings,
  type UpdateBounds,
  type UploadAnswer,
  speedTier,
  mergeTaskPatch,
} from '../../shared/protocol/index.ts'
import type { ModelSpec } from '../../shared/models/index.ts'
import {
  decodeMaskedUpdate,
  type KeysMessage,
  type RevealMessage,
  SecAggError,
  type SecAggView,
  type SharesMessage,
} from '../../shared/secagg/index.ts'
import { ContainerError, decodeContainer, type NamedTensor } from '../../shared/tensors/index.ts'
import type { Clock, TimerHandle } from '../clock/index.ts'
import { invalidRequest, PollenError } from '../errors.ts'
import type { Evaluator } from '../evaluation/index.ts'
import type { EventBus } from '../events/index.ts'
import type { Metrics } from '../metrics/index.ts'
import type { ModelInfo, ModelRegistry } from '../models/index.ts'
import {
  FRESH_ROUND,
  type AssignmentState,
  type DeviceRecord,
  type RoundRecord,
  type Store,
  type TaskRecord,
} from '../store/index.ts'
import {
  type RoundAggregation,
  type Strategy,
  robustMemoryRefusal,
  strategyFor,
  type TrainReport,
} from '../strategy/index.ts'
import { createPrivateSum, type PrivateSum } from '../privacy/private-sum.ts'
import { samplingRate, spendRound } from '../privacy/budget.ts'
import { createSecureRound, type SecureRound } from './secure.ts'
import { retryWrite, RetryStopped, type RetryDelays } from './retry.ts'
import { createHealth, type Health } from '../health/index.ts'
import { claimBound, claimRefusal, type ClaimBound, widenedBound } from './claims.ts'
import { calibrationReports, roundBounds, type RoundBounds } from './update-bounds.ts'
import { commitRefusal } from './commit-check.ts'
import { ineligibility, sizeWork } from './work.ts'
import { roundView, taskView } from './views.ts'
import { deviceTaskView, latestAccuracy } from './device-view.ts'
import { isActive } from '../devices/index.ts'

/** The upload body grew past the limit while being read. */
export class BodyTooLarge extends Error {}

export interface UploadInput {
  device: DeviceRecord
  taskId: string
  round: number
  /** Reads the request body, throwing BodyTooLarge past `limit` bytes (and anything else if cut off). */
  readBody: (limit: number) => Promise<Uint8Array>
}

export interface UploadResult {
  status: 200 | 404 | 409 | 410 | 413 | 422
  answer: UploadAnswer
}

export interface SchedulerOptions {
  store: Store
  models: ModelRegistry
  evaluator: Evaluator
  /**
   * One strategy for every task (tests that pin the aggregation). By default each task gets its
   * own, as its spec's `aggregation` asks, keeping its server optimizer's state.
   */
  strategy?: Strategy
  clock: Clock
  events: EventBus
  metrics: Metrics
  /** Bounds of the `retryAfterSeconds` answered to devices that are not selected. */
  retry?: { minSeconds: number; maxSeconds: number }
  random?: () => number
  log?: (message: string) => void
  /** Where a failing write is reported (/healthz), and how its retries are spaced. */
  health?: Health
  storageRetry?: Partial<RetryDelays>
}

/** Header and metadata allowance on top of a model's float32 payload. */
const UPLOAD_SLACK_BYTES = 64 * 1024

interface LiveRound {
  record: RoundRecord
  settings: RoundSettings
  /** Hyperparameters for this round's devices; a PATCH applies from the next round. */
  train: TrainSettings
  info: ModelInfo
  aggregation: RoundAggregation
  /** Tasks with privacy or secure aggregation: updates go to a clipped sum, not the strategy. */
  privateSum: PrivateSum | undefined
  /** Tasks with secure aggregation: the round's SecAgg+ stages. */
  secure: SecureRound | undefined
  /** Tasks without privacy: the norm bound and weight cap every update goes through. */
  bounds: RoundBounds | undefined
  /** What each assigned device's update may claim (sync rounds; an async device's is in atWork). */
  claims: Map<string, ClaimBound>
  /** A private task's sampling rate for this round, fixed as it opens (what the accountant charges). */
  sampling: number
  devices: Map<string, AssignmentState>
  /** The accepted reports' training loss, weighted by their examples, and those examples. */
  trainingLoss: { sum: number; examples: number }
  timer: TimerHandle | undefined
  closing: boolean
}

/** An async task's device at work: what it was given, and until when its slot is held. */
interface AtWork {
  answer: Assignment
  until: number
  claim: ClaimBound
}

interface LiveTask {
  record: TaskRecord
  info: ModelInfo
  /** A private task's eligible population, for its sampling rate (counted as rounds close). */
  population: number
  /** Secure rounds by number, kept a little after they close so devices can read the outcome. */
  secureRounds: Map<number, SecureRound>
  strategy: Strategy
  /** Async tasks: the devices training now, by id. */
  atWork: Map<string, AtWork>
  /** Async tasks: each recent round's base model, to check a stale update against. */
  bases: Map<number, string>
  open: LiveRound | undefined
  /** The bounds the last committed round applied: an adaptive bound rises from them gradually. */
  bounds: UpdateBounds | null
  /** Writes for this task, in the order they were decided. */
  queue: Promise<void>
}

/** FedBuff: no rounds with deadlines, a new version every `async.bufferSize` updates. */
const isAsync = (task: TaskRecord) => task.spec.mode === 'async'

/**
 * What a device of a private task does to its update: clip, and in distributed mode add its
 * share of the noise. Each of the round's at least `minReports` updates carries noise of
 * variance σ²C²/minReports, so their sum carries at least the σ²C² the accountant counts on.
 */
function devicePrivacy(privacy: PrivacySettings, minReports: number) {
  const { clipNorm, noiseMultiplier, mode } = privacy
  const noiseStd = mode === 'distributed' ? (noiseMultiplier * clipNorm) / Math.sqrt(minReports) : 0
  return { clipNorm, noiseStd }
}

/**
 * The round scheduler: one synchronous round at a time per task. Decisions are taken on the
 * in-memory state at once (so concurrent requests never over-select or double-count) and
 * persisted in order through a per-task queue.
 */
export function createScheduler(options: SchedulerOptions) {
  const { store, models, evaluator, clock, events, metrics } = options
  const retry = options.retry ?? { minSeconds: 1, maxSeconds: 10 }
  const random = options.random ?? Math.random
  const log = options.log ?? (() => {})
  const health = options.health ?? createHealth({ clock })
  /** Aborted by stop(): ends the retries of writes that wait for the store. */
  const stopping = new AbortController()
  const strategyOf = (task: TaskRecord): Strategy =>
    options.strategy ??
    strategyFor(task.spec.aggregation, { log: (message) => log(`task ${task.id} ${message}`) })
  const tasks = new Map<string, LiveTask>()
  /** Rounds closing now (commit, evaluation): settled() waits for them. */
  const closing = new Set<Promise<void>>()
  type CloseReason = 'target' | 'deadline' | 'secure aggregation'
  const close = (live: LiveTask, round: LiveRound, why: CloseReason) => {
    const done = closeRound(live, round, why).finally(() => closing.delete(done))
    closing.add(done)
  }

  const view = (live: LiveTask) => taskView(live.record, live.info, live.population)

  function enqueue(live: LiveTask, write: () => Promise<unknown>): Promise<void> {
    const next = live.queue.then(write).then(
      () => undefined,
      (error: unknown) => log(`store write for task ${live.record.id} failed: ${String(error)}`),
    )
    live.queue = next
    return next
  }

  function persistRound(live: LiveTask, round: LiveRound) {
    const {
      taskId,
      round: n,
      selected,
      reported,
      late,
      rejected,
      examples,
      firstAssignedAt,
      deadlineAt,
      bytesUp,
      bytesDown,
      participation,
      updateBounds,
    } = round.record
    const patch = {
      ...{ selected, reported, late, rejected, examples, firstAssignedAt, deadlineAt },
      ...{ bytesUp, bytesDown, updateBounds: updateBounds && { ...updateBounds } },
    }
    // A copy: the record goes on changing while the write waits in the queue.
    const shares = structuredClone(participation)
    return enqueue(live, () => store.updateRound(taskId, n, { ...patch, participation: shares }))
  }

  function publishRound(live: LiveTask, round: LiveRound) {
    events.publish({
      type: 'round.updated',
      taskId: live.record.id,
      round: roundView(round.record),
    })
  }

  // ---- rounds -------------------------------------------------------------------------------

  function liveRound(live: LiveTask, record: RoundRecord): LiveRound {
    const round: LiveRound = {
      record,
      settings: { ...live.record.spec.rounds },
      train: { ...live.record.spec.train },
      info: live.info,
      aggregation: live.strategy.beginRound({
        round: record.round,
        spec: live.info.weightSpec,
      }),
      privateSum: isPrivate(live.record.spec)
        ? createPrivateSum(live.info.weightSpec, {
            clipNorm: live.record.spec.privacy?.clipNorm ?? Number.POSITIVE_INFINITY,
          })
        : undefined,
      secure: undefined,
      bounds: isPrivate(live.record.spec)
        ? undefined
        : roundBounds(
            live.record.spec.aggregation,
            calibrationReports(live.record.spec),
            live.bounds,
          ),
      claims: new Map(),
      sampling: sampling(live, live.record.spec.rounds),
      devices: new Map(),
      trainingLoss: { sum: 0, examples: 0 },
      timer: undefined,
      closing: false,
    }
    record.updateBounds = round.bounds?.view() ?? null
    const { spec } = live.record
    if (spec.secureAggregation && !isAsync(live.record)) {
      const noise = spec.privacy ? devicePrivacy(spec.privacy, round.settings.minReports) : null
      round.secure = createSecureRound({
        length: live.info.parameters,
        // An entry of an update clipped to C is at most C; noise of std s passes 6s about once
        // in 500 million entries (clamping it would bend the Gaussian the accountant counts on).
        range: spec.secureAggregation.range ?? (noise ? noise.clipNorm + 6 * noise.noiseStd : 1),
        thresholdShare: spec.secureAggregation.threshold,
        minSurvivors: round.settings.minReports,
        deadlineSeconds: round.settings.deadlineSeconds,
        clock,
        onAbandoned: (reason) => {
          log(
            `task ${live.record.id} round ${record.round}: secure aggregation abandoned: ${reason}`,
          )
          close(live, round, 'secure aggregation')
        },
      })
      live.secureRounds.set(record.round, round.secure)
      for (const n of live.secureRounds.keys())
        if (n < record.round - 2) live.secureRounds.delete(n)
    }
    return round
  }

  function openNextRound(live: LiveTask) {
    const task = live.record
    if (task.status !== 'running' || live.open) return
    if (task.committedRounds >= task.spec.rounds.total) return
    if (stopAtBudget(live)) return
    task.round += 1
    const record: RoundRecord = {
      taskId: task.id,
      round: task.round,
      status: 'open',
      baseModel: task.modelHash,
      model: null,
      ...FRESH_ROUND,
      participation: noParticipation(),
      accuracy: null,
      loss: null,
      accuracyByLabel: null,
      confusion: null,
      trainingLoss: null,
      epsilon: null,
      startedAt: clock.now(),
    }
    live.open = liveRound(live, record)
    live.bases.set(record.round, record.baseModel)
    for (const n of live.bases.keys())
      if (n < record.round - task.spec.async.maxStaleness) live.bases.delete(n)
    void enqueue(live, () => store.openRound({ ...record }))
    events.publish({ type: 'round.opened', taskId: task.id, round: roundView(record) })
  }

  /** Closes the open round: commits a new model if enough reports came, else abandons it. */
  async function closeRound(live: LiveTask, round: LiveRound, why: CloseReason) {
    if (round.closing) return
    round.closing = true
    if (round.timer) clock.clearTimeout(round.timer)
    const task = live.record
    const r = round.record
    // An async round's reports come from devices other rounds assigned: it counts its drops as
    // they happen (releaseExpired).
    if (!isAsync(task)) r.dropped = r.selected - r.reported - r.rejected
    let abandoned: string | null
    try {
      // An async task's round closes on a full buffer only: any report commits.
      const needed = isAsync(task) ? 1 : round.settings.minReports
      // Secure aggregation: the survivors reveal their shares and the server learns their sum.
      const unmasked = round.secure && r.reported >= needed ? await round.secure.unmask() : null
      if (unmasked) round.privateSum?.addSum(unmasked.sum, unmasked.count)
      if (round.secure && !unmasked) round.secure.dispose()
      if (r.reported < needed) abandoned = `fewer reports than the ${needed} it needs`
      else if (round.secure && !unmasked)
        abandoned = 'secure aggregation could not unmask the sum of the updates'
      else abandoned = await commit(live, round)
    } catch (error) {
      // Stopped while the store was failing: the round stays open, re-opened at the next start.
      if (error instanceof RetryStopped) return
      task.status = 'failed'
      task.error = `round ${r.round} could not be committed: ${String(error)}`
      abandoned = task.error
      log(task.error)
    }
    if (abandoned !== null) Object.assign(r, { status: 'abandoned', abandonedReason: abandoned })
    const { sum, examples } = round.trainingLoss
    r.trainingLoss = examples > 0 ? sum / examples : null
    r.closedAt = clock.now()
    task.updatedAt = r.closedAt
    const { taskId, round: n, ...roundPatch } = r
    const { id: _id, createdAt: _c, spec: _s, ...taskPatch } = task
    await enqueue(live, () =>
      store.closeRound({ round: { taskId, round: n, ...roundPatch }, task: taskPatch }),
    )
    metrics.inc('pollen_rounds_total', { status: r.status })
    log(
      `task ${task.id} round ${n} ${r.status} (${why}): ${r.reported} report${r.reported === 1 ? '' : 's'}` +
        (r.accuracy !== null ? `, held-out accuracy ${r.accuracy.toFixed(4)}` : '') +
        (r.abandonedReason !== null ? `: ${r.abandonedReason}` : ''),
    )
    if (live.open === round) live.open = undefined
    if (!tasks.has(task.id)) return
    // The next round's sampling rate counts the devices there are now.
    if (task.spec.privacy) live.population = await populationOf(task).catch(() => live.population)
    events.publish({ type: 'round.closed', taskId, round: roundView(r) })
    events.publish({ type: 'task.updated', task: view(live) })
    openNextRound(live)
  }

  /**
   * Stores a round's new weights, trying again until the blob store takes them: a storage error
   * holds the round (its model in memory) and says so in the task's error and in /healthz; it
   * does not fail the task.
   */
  async function keep(live: LiveTask, n: number, weights: readonly NamedTensor[]) {
    const task = live.record
    let failed = false
    const write = () =>
      tasks.has(task.id)
        ? models.store(weights)
        : Promise.reject(new RetryStopped(`task ${task.id} was deleted`))
    const hash = await retryWrite(write, {
      what: `blob store: task ${task.id} round ${n}`,
      clock,
      health,
      signal: stopping.signal,
      ...options.storageRetry,
      onFailure(error, retryInMs) {
        failed = true
        task.error = `round ${n} is waiting to be committed: storing its model failed (${error instanceof Error ? error.message : String(error)}); trying again in ${Math.round(retryInMs / 1000)} s`
        log(`task ${task.id}: ${task.error}`)
        events.publish({ type: 'task.updated', task: view(live) })
      },
    })
    if (failed) task.error = null
    return hash
  }

  /**
   * Aggregates a round that has its reports and commits the new model, or says why not (the
   * strategy kept the old one, or the new one is not fit to commit: then the strategy's state
   * goes back to what it was, and the task carries on from the model it had).
   */
  async function commit(live: LiveTask, round: LiveRound): Promise<string | null> {
    const task = live.record
    const r = round.record
    const global = await models.weights(r.baseModel)
    const failures = [...round.devices].flatMap(([deviceId, state]) =>
      state === 'assigned' || state === 'rejected'
        ? [
            {
              deviceId,
              reason: state === 'assigned' ? ('dropped' as const) : ('rejected' as const),
            },
          ]
        : [],
    )
    const { strategy } = live
    if (round.bounds) {
      // A round that closes before its bounds calibrated: they calibrate on what came.
      aggregate(round, round.bounds.flush())
      r.updateBounds = round.bounds.view()
    }
    if (round.privateSum) {
      // The strategy sees one update: the (noised) mean of the clipped ones.
      const { privacy } = task.spec
      const noiseStd = privacy?.mode === 'central' ? privacy.noiseMultiplier * privacy.clipNorm : 0
      round.aggregation.accept({
        deviceId: 'private-sum',
        delta: round.privateSum.mean(noiseStd),
        examples: r.examples,
        steps: 1,
      })
      // The sum is out (to the coordinator, then in the model): the round spends its ε now.
      if (privacy) {
        task.privacySpent = spendRound(task.privacySpent, privacy, round.sampling)
        r.epsilon = task.privacySpent.epsilon
      }
    }
    const before = strategy.state?.()
    const next = await strategy.aggregateTrain({
      round: r.round,
      global,
      aggregation: round.aggregation,
      failures,
    })
    if (!next) return 'the strategy kept the previous model'
    const evaluated =
      allFinite(next) && strategy.configureEvaluate({ round: r.round }).heldOut
        ? await evaluator
            .evaluate(task.spec.model as ModelSpec, next, task.spec.dataset)
            .catch((error: unknown) => {
              log(`evaluation of task ${task.id} round ${r.round} failed: ${String(error)}`)
              return null
            })
        : null
    const refusal = commitRefusal(next, evaluated)
    if (refusal) {
      if (before && strategy.restore) strategy.restore(before, live.info.weightSpec)
      return refusal
    }
    const hash = await keep(live, r.round, next)
    // The optimizer's moments are persisted beside the model they led to.
    const state = strategy.state?.() ?? []
    if (state.length > 0) task.optimizerState = await keep(live, r.round, state)
    const metrics = strategy.aggregateEvaluate({ round: r.round, heldOut: evaluated })
    Object.assign(r, { status: 'committed', model: hash, ...metrics })
    task.modelHash = hash
    task.committedRounds += 1
    live.bounds = r.updateBounds
    if (task.committedRounds >= task.spec.rounds.total) task.status = 'completed'
    return null
  }

  /**
   * The devices that could be sampled for a private task: its setting, else the active devices
   * holding its data. Not the enrolled ones: devices long gone would shrink q, and so ε, below
   * what the rounds really spend.
   */
  async function populationOf(task: TaskRecord): Promise<number> {
    if (!task.spec.privacy) return 0
    if (task.spec.privacy.population !== undefined) return task.spec.privacy.population
    const devices = await store.listDevices()
    const now = clock.now()
    return devices.filter((d) => isActive(d, now) && holds(d, task.spec.dataset)).length
  }

  /** The sampling rate of a private task's rounds: devices selected over its population. */
  const sampling = (live: LiveTask, settings: RoundSettings = live.record.spec.rounds) =>
    samplingRate(selectedPerRound(settings), live.population)

  /**
   * A private task whose next round would take ε past its budget completes instead, saying why.
   * Checked as each round would open, so a PATCH or a smaller population counts too.
   */
  function stopAtBudget(live: LiveTask): boolean {
    const task = live.record
    const { privacy } = task.spec
    if (!privacy) return false
    const next = spendRound(task.privacySpent, privacy, sampling(live)).epsilon
    if (next <= privacy.epsilonBudget) return false
    task.status = 'completed'
    task.stoppedReason = `the next round would spend ε to ${next.toFixed(3)}, past the budget ${privacy.epsilonBudget} (δ = ${privacy.delta}); ε spent: ${(task.privacySpent?.epsilon ?? 0).toFixed(3)}`
    task.updatedAt = clock.now()
    const { status, stoppedReason, updatedAt } = task
    void enqueue(live, () => store.updateTask(task.id, { status, stoppedReason, updatedAt }))
    log(`task ${task.id} stopped: ${task.stoppedReason}`)
    events.publish({ type: 'task.updated', task: view(live) })
    return true
  }

  /** Why a private task may not even start: one round would pass its budget. */
  function firstRoundRefusal(task: TaskRecord, population: number): string | undefined {
    const { privacy } = task.spec
    if (!privacy) return undefined
    const q = samplingRate(selectedPerRound(task.spec.rounds), population)
    const one = spendRound(null, privacy, q).epsilon
    if (one <= privacy.epsilonBudget) return undefined
    return `one round spends ε = ${one.toFixed(3)} at sampling rate q = ${q.toFixed(4)} (δ = ${privacy.delta}), more than the budget ${privacy.epsilonBudget}: raise noiseMultiplier or the budget, or give the population`
  }

  function startDeadline(live: LiveTask, round: LiveRound) {
    const ms = round.settings.deadlineSeconds * 1000
    round.record.deadlineAt = clock.now() + ms
    round.timer = clock.setTimeout(() => close(live, round, 'deadline'), ms)
  }

  // ---- devices ------------------------------------------------------------------------------

  const holds = (device: DeviceRecord, dataset: string) =>
    device.datasets.some((d) => d.name === dataset && d.examples > 0)

  function assignment(live: LiveTask, round: LiveRound, device: DeviceRecord): Assignment {
    const task = live.record
    // An async task's device has the deadline's length from now, whatever the buffer is doing.
    const deadlineAt = isAsync(task)
      ? clock.now() + round.settings.deadlineSeconds * 1000
      : (round.record.deadlineAt ?? clock.now())
    const configured = live.strategy.configureTrain({
      round: round.record.round,
      settings: round.train,
      device,
    })
    const { proximalMu, ...plan } = configured
    return {
      type: 'assignment',
      taskId: task.id,
      round: round.record.round,
      dataset: task.spec.dataset,
      model: {
        spec: task.spec.model,
        hash: round.record.baseModel,
        url: `/api/v1/models/${round.record.baseModel}`,
      },
      plan: sizeWork({
        // μ only where it is on: a plan without it trains as it always did.
        plan: proximalMu ? { ...plan, proximalMu } : plan,
        work: task.spec.work,
        deadlineSeconds: round.settings.deadlineSeconds,
        secondsLeft: (deadlineAt - clock.now()) / 1000,
        examplesPerSecond: device.capabilities?.examplesPerSecond,
      }),
      deadline: new Date(deadlineAt).toISOString(),
      uploadUrl: `/api/v1/tasks/${task.id}/rounds/${round.record.round}/updates`,
      ...(task.spec.privacy
        ? { privacy: devicePrivacy(task.spec.privacy, round.settings.minReports) }
        : {}),
      ...(round.secure
        ? {
            secureAggregation: {
              url: `/api/v1/tasks/${task.id}/rounds/${round.record.round}/secagg`,
            },
          }
        : {}),
    }
  }

  async function checkin(device: DeviceRecord, request: CheckinRequest): Promise<CheckinAnswer> {
    const now = clock.now()
    device.capabilities = request.capabilities
    device.datasets = request.datasets
    device.lastSeenAt = now
    const saved = store.updateDevice(device.id, {
      capabilities: request.capabilities,
      datasets: request.datasets,
      lastSeenAt: now,
    })
    const answer = decide(device, request.consents)
    await saved
    metrics.inc('pollen_checkins_total', { answer: answer.type })
    return answer
  }

  function decide(device: DeviceRecord, consents: readonly string[] | undefined): CheckinAnswer {
    const offered = [...tasks.values()].filter(
      (t) =>
        (t.record.status === 'running' || t.record.status === 'paused') &&
        holds(device, t.record.spec.dataset) &&
        (consents === undefined || consents.includes(t.record.id)),
    )
    if (offered.length === 0)
      return {
        type: 'none',
        reason:
          consents === undefined
            ? 'no running or paused task uses a dataset this device holds'
            : 'no running or paused task its owner agreed to uses a dataset it holds',
      }
    const refusals = offered.map((t) => ({
      live: t,
      why: ineligibility(device.capabilities, t.record.spec.eligibility),
    }))
    const eligible = refusals.filter((r) => r.why === null).map((r) => r.live)
    if (eligible.length === 0) {
      // What the device is rules it out for good; what it is doing (charging, network) for now.
      const reasons = refusals.map(
        ({ live, why }) => `task ${live.record.spec.name} ${why!.reason}`,
      )
      const transient = refusals.some((r) => r.why!.kind === 'transient')
      return transient
        ? retryLater(offered, reasons.join('; '))
        : { type: 'none', reason: reasons.join('; ') }
    }

    const now = clock.now()
    for (const live of eligible) if (isAsync(live.record)) releaseExpired(live, now)
    // A device that was selected and has not answered gets its assignment again (a reload).
    for (const live of eligible) {
      const round = live.open
      const atWork = live.atWork.get(device.id)
      if (atWork) return atWork.answer
      // A secure round's device that lost its keys (a reload) cannot rejoin once it advertised.
      if (round && !round.closing && round.devices.get(device.id) === 'assigned')
        if (!round.secure || round.secure.mayRejoin(device.id)) {
          const again = assignment(live, round, device)
          const claim = round.claims.get(device.id)
          if (claim) round.claims.set(device.id, widenedBound(claim, again.plan))
          return again
        }
    }
    // How full each task's work is: a sync round's selections, an async task's devices at work.
    const load = ({ live, round }: { live: LiveTask; round: LiveRound }) =>
      isAsync(live.record)
        ? live.atWork.size / live.record.spec.async.concurrency
        : round.record.selected / selectedPerRound(round.settings)
    const candidates = eligible
      .filter((t) => t.record.status === 'running' && t.open && !t.open.closing)
      .map((t) => ({ live: t, round: t.open! }))
      .filter(({ live, round }) => isAsync(live.record) || !round.devices.has(device.id))
      // A secure round takes devices only until its participants are fixed.
      .filter(({ round }) => !round.secure || round.secure.selecting)
      .filter((c) => load(c) < 1)
      .sort((a, b) => load(a) - load(b))
    const chosen = candidates[0]
    if (!chosen) return retryLater(eligible)
    const { live, round } = chosen
    round.devices.set(device.id, 'assigned')
    round.record.selected += 1
    if (round.record.deadlineAt === null && !isAsync(live.record)) startDeadline(live, round)
    round.secure?.selectionStarted()
    const key = { taskId: live.record.id, round: round.record.round, deviceId: device.id }
    const assignedAt = clock.now()
    round.record.firstAssignedAt ??= assignedAt
    void enqueue(live, () =>
      store.insertAssignment({
        ...key,
        state: 'assigned',
        examples: 0,
        assignedAt,
        answeredAt: null,
        backend: device.capabilities?.backend ?? null,
        examplesPerSecond: device.capabilities?.examplesPerSecond ?? null,
        downloadedAt: null,
        bytesUp: 0,
      }),
    )
    void persistRound(live, round)
    events.publish({
      type: 'device.state',
      deviceId: device.id,
      state: 'assigned',
      ...withRound(key),
    })
    publishRound(live, round)
    const answer = assignment(live, round, device)
    // What its update may claim: bounded by what it declares now, whatever it declares later.
    const declared = device.datasets.find((d) => d.name === live.record.spec.dataset)?.examples
    const claim = claimBound(answer.plan, declared ?? 0)
    if (isAsync(live.record))
      live.atWork.set(device.id, { answer, until: Date.parse(answer.deadline), claim })
    else round.claims.set(device.id, claim)
    return answer
  }

  /**
   * An async task's devices that have held their slot past their deadline give it up: counted as
   * dropped in the round that assigned them if it is still open, and told they are late if they
   * upload after all.
   */
  function releaseExpired(live: LiveTask, now: number) {
    for (const [deviceId, atWork] of live.atWork) {
      if (atWork.until > now) continue
      live.atWork.delete(deviceId)
      if (live.open && !live.open.closing) live.open.record.dropped += 1
      const key = { taskId: live.record.id, round: atWork.answer.round, deviceId }
      storeLate(live, key, now)
    }
  }

  /**
   * When is an open round likely to close? At its deadline, or sooner if reports keep arriving
   * at the rate they have so far.
   */
  function expectedClose(round: LiveRound, now: number): number | undefined {
    const { deadlineAt, reported } = round.record
    if (deadlineAt === null) return undefined
    const selectedAt = deadlineAt - round.settings.deadlineSeconds * 1000
    if (reported === 0) return deadlineAt
    const perReport = (now - selectedAt) / reported
    return Math.min(deadlineAt, selectedAt + perReport * round.settings.clientsPerRound)
  }

  /** Pace steering: come back about when the next round is likely to open, with jitter. */
  function retryLater(eligible: LiveTask[], why?: string): CheckinAnswer {
    const now = clock.now()
    const waits = eligible
      .map((t) => (t.open ? expectedClose(t.open, now) : undefined))
      .filter((at): at is number => at !== undefined)
      .map((at) => (at - now) / 1000)
    const base = Math.min(retry.maxSeconds, ...waits) * (0.75 + 0.5 * random())
    const jittered = Math.min(retry.maxSeconds, Math.max(retry.minSeconds, base))
    const reason =
      why ??
      (eligible.every((t) => t.record.status === 'paused')
        ? 'the tasks this device can join are paused'
        : 'the current rounds have all the devices they need')
    return { type: 'retry', retryAfterSeconds: Math.round(jittered * 100) / 100, reason }
  }

  const withRound = (key: { taskId: string; round: number }) => ({
    taskId: key.taskId,
    round: key.round,
  })

  // ---- uploads ------------------------------------------------------------------------------

  async function upload({
    device,
    taskId,
    round: n,
    readBody,
  }: UploadInput): Promise<UploadResult> {
    const result = await uploadOutcome(device, taskId, n, readBody)
    metrics.inc('pollen_uploads_total', { outcome: result.answer.type })
    return result
  }

  async function uploadOutcome(
    device: DeviceRecord,
    taskId: string,
    n: number,
    readBody: (limit: number) => Promise<Uint8Array>,
  ): Promise<UploadResult> {
    const live = tasks.get(taskId)
    const unknown = (message: string): UploadResult => ({
      status: 404,
      answer: { type: 'unknown-round', message },
    })
    if (!live) return unknown(`no task ${taskId}`)
    if (isAsync(live.record)) return asyncUpload(live, device, n, readBody, unknown)
    const key = { taskId, round: n, deviceId: device.id }

    const round = live.open
    if (!round || round.record.round !== n) {
      // Not the open round: the device is late, repeating itself, or was never asked.
      const past = n >= 1 && n <= live.record.round ? await store.getAssignment(key) : undefined
      if (!past)
        return unknown(`device ${device.id} has no assignment in round ${n} of task ${taskId}`)
      if (past.state !== 'assigned') return duplicate(n, past.state)
      let marked = false
      await enqueue(live, async () => (marked = await store.markLate(key, clock.now())))
      return marked ? late(device, key) : duplicate(n, 'late')
    }
    const state = round.devices.get(device.id)
    if (state === undefined)
      return unknown(
        `device ${device.id} has no assignment in round ${n} of task ${taskId}` +
          ' (not selected, or the round was re-opened after a coordinator restart)',
      )
    if (state !== 'assigned') return duplicate(n, state)
    if (round.closing) return markLateLive(live, round, device, key)

    const limit = round.info.payloadBytes + UPLOAD_SLACK_BYTES
    let bytes: Uint8Array
    try {
      bytes = await readBody(limit)
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error
      return reject(live, round, device, 413, 'body', `the update is larger than ${limit} bytes`)
    }
    // The round may have closed, or the device answered on another connection, while we read.
    if (round.devices.get(device.id) !== 'assigned')
      return duplicate(n, round.devices.get(device.id)!)
    if (round.closing || live.open !== round) return markLateLive(live, round, device, key)

    if (round.secure) return maskedUpload(live, round, device, key, bytes)
    const checked = checkUpdate(bytes, round, round.claims.get(device.id)!)
    if ('field' in checked) {
      round.record.bytesUp += bytes.length
      return reject(live, round, device, 422, checked.field, checked.message, bytes.length)
    }

    return acceptReport(live, round, device, key, bytes, checked.metadata, checked.tensors, {
      closeAt: round.settings.clientsPerRound,
    })
  }

  /** A secure round's upload: a masked vector, which only counts towards the survivors' sum. */
  function maskedUpload(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    key: { taskId: string; round: number; deviceId: string },
    bytes: Uint8Array,
  ): UploadResult {
    const refuse = (status: 409 | 422, field: string, message: string) => {
      round.record.bytesUp += bytes.length
      return reject(live, round, device, status, field, message, bytes.length)
    }
    try {
      const { metadata: raw, masked } = decodeMaskedUpdate(bytes, {
        expectedLength: round.info.parameters,
      })
      const metadata = UpdateMetadataSchema.safeParse(raw)
      if (!metadata.success) {
        const issue = describeIssues(metadata.error)[0]!
        return refuse(422, `metadata.${issue.field}`, issue.message)
      }
      if (metadata.data.baseModel !== round.record.baseModel)
        return refuse(
          422,
          'metadata.baseModel',
          `the update was computed against ${metadata.data.baseModel}, not this round's model ${round.record.baseModel}`,
        )
      const claimed = claimRefusal(round.claims.get(device.id)!, metadata.data)
      if (claimed) return refuse(422, claimed.field, claimed.message)
      round.secure!.masked(device.id, masked)
      // Once every device that shared has uploaded, no more can come: close now.
      return acceptReport(live, round, device, key, bytes, metadata.data, null, {
        closeAt: round.secure!.stage === 'collect' ? round.settings.clientsPerRound : 0,
      })
    } catch (error) {
      if (!(error instanceof SecAggError)) throw error
      return refuse(error.status, error.field, error.message)
    }
  }

  /**
   * Adds a checked update (its `delta` as the aggregation should weigh it) to the open round,
   * counts it, and closes the round once `closeAt` reports are in. The aggregation may refuse
   * what it cannot weigh (no steps under normalized weighting), leaving its sums as they were.
   */
  function acceptReport(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    key: { taskId: string; round: number; deviceId: string },
    bytes: Uint8Array,
    metadata: UpdateMetadata,
    /** Null: a masked vector, already in the secure round's sum. */
    delta: NamedTensor[] | null,
    /**
     * `staleness`: an async update's rounds behind, counted in the round once accepted; `scale`:
     * its staleness weight, applied after the update is clipped.
     */
    { closeAt, staleness, scale = 1 }: { closeAt: number; staleness?: number; scale?: number },
  ): UploadResult {
    try {
      if (delta === null) {
        // Counted below; secure aggregation holds it.
      } else if (round.privateSum) round.privateSum.addUpdate(delta)
      else {
        const report = {
          deviceId: device.id,
          delta,
          examples: metadata.examples,
          steps: metadata.steps,
          ...(metadata.loss !== undefined ? { loss: metadata.loss } : {}),
        }
        // Only a private round has no bounds, and no private round is async (nothing to scale).
        aggregate(round, round.bounds ? round.bounds.admit(report, scale) : [report], device.id)
        if (round.bounds) round.record.updateBounds = round.bounds.view()
      }
    } catch (error) {
      if (!(error instanceof RangeError)) throw error
      round.record.bytesUp += bytes.length
      const field = metadata.steps === 0 ? 'metadata.steps' : 'tensors'
      return reject(live, round, device, 422, field, error.message, bytes.length, key.round)
    }
    round.devices.set(device.id, 'reported')
    round.record.reported += 1
    round.record.examples += metadata.examples
    round.record.bytesUp += bytes.length
    if (metadata.loss !== undefined) {
      round.trainingLoss.sum += metadata.loss * metadata.examples
      round.trainingLoss.examples += metadata.examples
    }
    if (staleness !== undefined) {
      const counts = (round.record.staleness ??= [])
      while (counts.length <= staleness) counts.push(0)
      counts[staleness]! += 1
    }
    countParticipation(round.record, device, metadata.examples, metadata.partial)
    metrics.inc('pollen_upload_bytes_total', {}, bytes.length)
    void enqueue(live, () =>
      store.updateAssignment(key, {
        state: 'reported',
        examples: metadata.examples,
        answeredAt: clock.now(),
        bytesUp: bytes.length,
      }),
    )
    void persistRound(live, round)
    events.publish({
      type: 'device.state',
      deviceId: device.id,
      state: 'reported',
      ...withRound(key),
    })
    publishRound(live, round)
    const reported = round.record.reported
    if (reported >= closeAt) close(live, round, 'target')
    return { status: 200, answer: { type: 'accepted', round: key.round, reported } }
  }

  /**
   * FedBuff's upload: an update computed on the round the device was assigned in, `staleness`
   * rounds behind the one open now, joins the open round's buffer weighted by
   * 1/(1 + staleness)^a; past `maxStaleness` it is refused as stale. A full buffer commits.
   */
  async function asyncUpload(
    live: LiveTask,
    device: DeviceRecord,
    n: number,
    readBody: (limit: number) => Promise<Uint8Array>,
    unknown: (message: string) => UploadResult,
  ): Promise<UploadResult> {
    const task = live.record
    const key = { taskId: task.id, round: n, deviceId: device.id }
    const atWork = live.atWork.get(device.id)
    if (!atWork || atWork.answer.round !== n) {
      const past = n >= 1 && n <= task.round ? await store.getAssignment(key) : undefined
      if (!past)
        return unknown(`device ${device.id} has no assignment in round ${n} of task ${task.id}`)
      if (past.state !== 'assigned') return duplicate(n, past.state)
      // Its slot was given up at its deadline, or the coordinator restarted since.
      await enqueue(live, () => store.markLate(key, clock.now()))
      return late(device, key)
    }
    const round = live.open
    const { maxStaleness, stalenessExponent } = task.spec.async
    const staleness = round ? round.record.round - n : Number.POSITIVE_INFINITY
    const base = live.bases.get(n)
    if (!round || round.closing || staleness > maxStaleness || base === undefined) {
      live.atWork.delete(device.id)
      storeLate(live, key)
      events.publish({
        type: 'device.state',
        deviceId: device.id,
        state: 'late',
        ...withRound(key),
      })
      return {
        status: 410,
        answer: {
          type: 'stale',
          round: n,
          staleness,
          maxStaleness,
          message: round
            ? `round ${n} is ${staleness} round${staleness === 1 ? '' : 's'} behind round ${round.record.round}, more than this task's maxStaleness ${maxStaleness}; the update was not aggregated`
            : `task ${task.id} has no open round; the update was not aggregated`,
        },
      }
    }

    const limit = round.info.payloadBytes + UPLOAD_SLACK_BYTES
    let bytes: Uint8Array
    try {
      bytes = await readBody(limit)
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error
      live.atWork.delete(device.id)
      return reject(
        live,
        round,
        device,
        413,
        'body',
        `the update is larger than ${limit} bytes`,
        0,
        n,
      )
    }
    // The buffer may have filled, or the device answered on another connection, while we read.
    if (live.atWork.get(device.id) !== atWork) return duplicate(n, 'reported')
    live.atWork.delete(device.id)
    if (round.closing || live.open !== round) {
      storeLate(live, key)
      return late(device, key)
    }
    const checked = checkUpdate(bytes, round, atWork.claim, base)
    if ('field' in checked) {
      round.record.bytesUp += bytes.length
      return reject(live, round, device, 422, checked.field, checked.message, bytes.length, n)
    }
    return acceptReport(live, round, device, key, bytes, checked.metadata, checked.tensors, {
      closeAt: task.spec.async.bufferSize,
      staleness,
      scale: stalenessWeight(staleness, stalenessExponent),
    })
  }

  /**
   * Adds bounded reports to the round's aggregation. A report held while the bounds calibrated
   * was answered `accepted` already: an aggregation that refuses it now is logged. The report
   * uploaded now (`current`) is refused to its device instead.
   */
  function aggregate(round: LiveRound, reports: readonly TrainReport[], current?: string) {
    for (const report of reports)
      try {
        round.aggregation.accept(report)
      } catch (error) {
        if (!(error instanceof RangeError) || report.deviceId === current) throw error
        log(
          `round ${round.record.round}: the report of ${report.deviceId} was left out: ${error.message}`,
        )
      }
  }

  /** The update's container and metadata checked, then what it claims against `claim`. */
  function checkUpdate(
    bytes: Uint8Array,
    round: LiveRound,
    claim: ClaimBound,
    baseModel = round.record.baseModel,
  ): { tensors: NamedTensor[]; metadata: UpdateMetadata } | { field: string; message: string } {
    let container
    try {
      container = decodeContainer(bytes)
    } catch (error) {
      if (error instanceof ContainerError)
        return {
          field: 'body',
          message: `not a valid update container (${error.code}): ${error.message}`,
        }
      throw error
    }
    const metadata = UpdateMetadataSchema.safeParse(container.metadata)
    if (!metadata.success) {
      const issue = describeIssues(metadata.error)[0]!
      return { field: `metadata.${issue.field}`, message: issue.message }
    }
    if (metadata.data.baseModel !== baseModel)
      return {
        field: 'metadata.baseModel',
        message: `the update was computed against ${metadata.data.baseModel}, not this round's model ${baseModel}`,
      }
    const expected = round.info.weightSpec
    if (container.tensors.length !== expected.length)
      return {
        field: 'tensors',
        message: `expected ${expected.length} tensors, got ${container.tensors.length}`,
      }
    for (const [i, want] of expected.entries()) {
      const got = container.tensors[i]!
      if (got.name !== want.name)
        return { field: `tensors[${i}].name`, message: `expected ${want.name}, got ${got.name}` }
      if (got.shape.length !== want.shape.length || got.shape.some((d, k) => d !== want.shape[k]))
        return {
          field: `tensors[${i}].shape`,
          message: `${want.name} must have shape [${want.shape.join(', ')}], got [${got.shape.join(', ')}]`,
        }
    }
    if (!allFinite(container.tensors))
      return { field: 'tensors', message: 'the update contains NaN or infinite values' }
    return (
      claimRefusal(claim, metadata.data) ?? { tensors: container.tensors, metadata: metadata.data }
    )
  }

  function reject(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    status: 409 | 413 | 422,
    field: string,
    message: string,
    bytesUp = 0,
    /** The round the device was assigned in: an async task's may be an earlier one. */
    assignedIn = round.record.round,
  ): UploadResult {
    const key = { taskId: live.record.id, round: assignedIn, deviceId: device.id }
    round.devices.set(device.id, 'rejected')
    round.record.rejected += 1
    void enqueue(live, () =>
      store.updateAssignment(key, { state: 'rejected', answeredAt: clock.now(), bytesUp }),
    )
    void persistRound(live, round)
    events.publish({
      type: 'device.state',
      deviceId: device.id,
      state: 'rejected',
      ...withRound(key),
    })
    publishRound(live, round)
    return { status, answer: { type: 'rejected', round: key.round, message, field } }
  }

  /** A device that reported: its backend's and its speed tier's shares grow, and partial work's. */
  function countParticipation(
    record: RoundRecord,
    device: DeviceRecord,
    examples: number,
    partial = false,
  ) {
    const { participation } = record
    const backend = participation.byBackend[device.capabilities?.backend ?? 'cpu']
    const tier = participation.byTier[speedTier(device.capabilities?.examplesPerSecond)]
    for (const share of [backend, tier, ...(partial ? [participation.partial] : [])]) {
      share.devices += 1
      share.examples += examples
    }
  }

  /**
   * A device downloaded model `hash`: where that is the base of an open round it was given, the
   * round counts the bytes and the device is now training.
   */
  function downloaded(device: DeviceRecord, hash: string, bytes: number): void {
    let counted = false
    for (const live of tasks.values()) {
      const round = live.open
      if (!round || round.record.baseModel !== hash) continue
      if (round.devices.get(device.id) !== 'assigned') continue
      counted = true
      round.record.bytesDown += bytes
      const key = { taskId: live.record.id, round: round.record.round, deviceId: device.id }
      void enqueue(live, () => store.updateAssignment(key, { downloadedAt: clock.now() }))
      void persistRound(live, round)
      events.publish({
        type: 'device.state',
        deviceId: device.id,
        state: 'downloaded',
        ...withRound(key),
      })
      publishRound(live, round)
    }
    if (!counted) events.publish({ type: 'device.state', deviceId: device.id, state: 'downloaded' })
  }

  function markLateLive(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    key: { taskId: string; round: number; deviceId: string },
  ): UploadResult {
    round.devices.set(device.id, 'late')
    round.record.late += 1
    storeLate(live, key)
    void persistRound(live, round)
    return late(device, key)
  }

  /** Stores that a device's assignment ended late (at `at`), in the task's write order. */
  function storeLate(
    live: LiveTask,
    key: { taskId: string; round: number; deviceId: string },
    at = clock.now(),
  ): void {
    void enqueue(live, () => store.updateAssignment(key, { state: 'late', answeredAt: at }))
  }

  function late(device: DeviceRecord, key: { taskId: string; round: number }): UploadResult {
    events.publish({ type: 'device.state', deviceId: device.id, state: 'late', ...withRound(key) })
    return {
      status: 410,
      answer: {
        type: 'late',
        round: key.round,
        message: `round ${key.round} closed before this update arrived; it was not aggregated`,
      },
    }
  }

  function duplicate(n: number, state: AssignmentState): UploadResult {
    return {
      status: 409,
      answer: {
        type: 'duplicate',
        round: n,
        message: `this device already answered round ${n} (its update was ${state})`,
      },
    }
  }

  // ---- secure aggregation -------------------------------------------------------------------

  /** The secure round `n` of a task, with SecAgg+'s refusals as API errors. */
  function secureCall<T>(taskId: string, n: number, call: (secure: SecureRound) => T): T {
    const secure = tasks.get(taskId)?.secureRounds.get(n)
    if (!secure)
      throw new PollenError(
        'not_found',
        `task ${taskId} has no round ${n} with secure aggregation (or it closed a while ago)`,
        'round',
      )
    try {
      return call(secure)
    } catch (error) {
      if (!(error instanceof SecAggError)) throw error
      throw new PollenError(error.code, error.message, error.field)
    }
  }

  /** Keys from a device selected in the open round (only it may take part). */
  function secureKeys(device: DeviceRecord, taskId: string, n: number, keys: KeysMessage) {
    const round = tasks.get(taskId)?.open
    if (round?.record.round === n && round.devices.get(device.id) !== 'assigned')
      throw new PollenError(
        'not_selected',
        `device ${device.id} was not selected in round ${n}, or has answered already`,
        'round',
      )
    secureCall(taskId, n, (secure) =>
      secure.keys(device.id, keys, round ? selectedPerRound(round.settings) : 0),
    )
  }

  // ---- tasks --------------------------------------------------------------------------------

  /** A task the scheduler now runs, with its own strategy and nothing open yet. */
  function addLiveTask(record: TaskRecord, info: ModelInfo): LiveTask {
    const live: LiveTask = {
      record,
      info,
      population: 0,
      secureRounds: new Map(),
      strategy: strategyOf(record),
      atWork: new Map(),
      bases: new Map(),
      open: undefined,
      bounds: null,
      queue: Promise.resolve(),
    }
    tasks.set(record.id, live)
    return live
  }

  function liveTask(id: string): LiveTask {
    const live = tasks.get(id)
    if (!live) throw new PollenError('not_found', `no task ${id}`, 'id')
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
    const heavy = robustMemoryRefusal(record.spec, info.parameters)
    if (heavy) throw new PollenError('invalid_request', heavy.message, heavy.field)
    const population = await populationOf(record)
    const first = firstRoundRefusal(record, population)
    if (first) throw new PollenError('over_budget', first, 'privacy.epsilonBudget')
    await store.insertTask(record)
    const live = addLiveTask(record, info)
    live.population = population
    events.publish({ type: 'task.created', task: view(live) })
    openNextRound(live)
    return view(live)
  }

  async function patchTask(id: string, patch: TaskPatch): Promise<TaskView> {
    const live = liveTask(id)
    const task = live.record
    // The rules a new task is held to, over the task as the patch would leave it.
    const merged = mergeTaskPatch(task.spec, patch)
    if (!merged.ok) throw invalidRequest(merged.issues)
    const { rounds } = merged.spec
    const heavy = robustMemoryRefusal(merged.spec, live.info.parameters)
    if (heavy) throw new PollenError('invalid_request', heavy.message, heavy.field)
    const atLeast = task.committedRounds + (live.open ? 1 : 0)
    if (rounds.total < atLeast)
      throw new PollenError(
        'invalid_request',
        `rounds.total must be at least ${atLeast}: the rounds committed${live.open ? ' plus the one open' : ''}`,
        'rounds.total',
      )
    if (patch.status && task.status === 'completed')
      throw new PollenError('conflict', `task ${id} is ${task.status}`, 'status')
    task.spec = merged.spec
    // A failed task resumes from its last committed model (its failed round stays abandoned).
    if (patch.status && task.status === 'failed') task.error = null
    if (patch.status) task.status = patch.status
    if (task.status === 'running' && task.committedRounds >= rounds.total) task.status = 'completed'
    task.updatedAt = clock.now()
    const { spec, status, updatedAt, error } = task
    await enqueue(live, () => store.updateTask(id, { spec, status, updatedAt, error }))
    events.publish({ type: 'task.updated', task: view(live) })
    openNextRound(live)
    return view(live)
  }

  async function deleteTask(id: string): Promise<void> {
    const live = liveTask(id)
    tasks.delete(id)
    if (live.open?.timer) clock.clearTimeout(live.open.timer)
    for (const secure of live.secureRounds.values()) secure.dispose('the task was deleted')
    await live.queue
    await store.deleteTask(id)
    events.publish({ type: 'task.deleted', taskId: id })
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Loads tasks; re-opens rounds a crash left open; opens rounds for running tasks. */
  async function start(): Promise<void> {
    for (const record of await store.listTasks())
      addLiveTask(record, models.info(record.spec.model))
    for (const live of tasks.values()) {
      live.population = await populationOf(live.record)
      const committed = (await store.listRounds(live.record.id)).filter(
        (r) => r.status === 'committed',
      )
      live.bounds = committed.at(-1)?.updateBounds ?? null
    }
    for (const live of tasks.values()) {
      const hash = live.record.optimizerState
      if (!hash || !live.strategy.restore) continue
      try {
        live.strategy.restore(await models.weights(hash), live.info.weightSpec)
      } catch (error) {
        log(
          `task ${live.record.id}: server optimizer state ${hash} not restored, starting afresh: ${String(error)}`,
        )
      }
    }
    const now = clock.now()
    for (const open of await store.listOpenRounds()) {
      const live = tasks.get(open.taskId)
      if (!live) continue
      await store.resetRound(open.taskId, open.round, now)
      const record: RoundRecord = {
        ...open,
        ...FRESH_ROUND,
        participation: noParticipation(),
        startedAt: now,
      }
      live.record.round = Math.max(live.record.round, open.round)
      live.open = liveRound(live, record)
      log(`task ${open.taskId}: round ${open.round} was open at shutdown; re-opened`)
    }
    for (const live of tasks.values()) openNextRound(live)
  }

  /** Stops timers and waits for pending writes; the store stays open. */
  async function stop(): Promise<void> {
    stopping.abort()
    for (const live of tasks.values()) {
      if (live.open?.timer) clock.clearTimeout(live.open.timer)
      for (const secure of live.secureRounds.values()) secure.dispose('the coordinator stopped')
    }
    await Promise.all([...tasks.values()].map((t) => t.queue))
  }

  /**
   * Resolves once no round is closing and every write decided so far is stored: a simulation on
   * virtual time waits here, so that a commit happens at the virtual moment that caused it. (A
   * secure round closing waits for its reveals, up to a window on the clock: on virtual time,
   * reveal or advance the clock first.)
   */
  async function settled(): Promise<void> {
    while (closing.size > 0) await Promise.all([...closing])
    await Promise.all([...tasks.values()].map((t) => t.queue))
  }

  const accuracyOf = latestAccuracy(store)

  return {
    start,
    stop,
    settled,
    createTask,
    patchTask,
    deleteTask,
    checkin,
    upload,
    downloaded,
    getTask: (id: string): TaskView => view(liveTask(id)),
    /** What SecAgg+ asks of this device now in round `n` (GET …/secagg). */
    secureView(device: DeviceRecord, taskId: string, n: number): SecAggView {
      // The open round knows its devices; after a restart it is a new round under the old number.
      const open = tasks.get(taskId)?.open
      if (open?.secure && open.record.round === n && !open.devices.has(device.id))
        throw new PollenError(
          'not_selected',
          `device ${device.id} is not part of round ${n} (not selected, or the round was re-opened after a coordinator restart)`,
          'round',
        )
      return secureCall(taskId, n, (secure) => secure.view(device.id))
    },
    secureKeys,
    secureShares: (device: DeviceRecord, taskId: string, n: number, message: SharesMessage) =>
      secureCall(taskId, n, (secure) => secure.shares(device.id, message)),
    secureReveal: (device: DeviceRecord, taskId: string, n: number, message: RevealMessage) =>
      secureCall(taskId, n, (secure) => secure.reveal(device.id, message)),
    /** Every device selected in a round, with where it got to (the dashboard's timeline). */
    async roundDevices(id: string, n: number): Promise<RoundDeviceView[]> {
      const live = liveTask(id)
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
    },
    /**
     * The tasks phones are told of: on offer (running, paused) and ended (completed, failed), so
     * that the phones that took part can still try the final model. Waits for each task's writes,
     * so its latest committed round is stored.
     */
    deviceTasks: (): Promise<DeviceTaskView[]> =>
      Promise.all(
        [...tasks.values()].map(async (live) => {
          await live.queue
          return deviceTaskView(live.record, live.info, await accuracyOf(live.record))
        }),
      ),
    listTasks: (): TaskView[] => [...tasks.values()].map(view),
    async listRounds(id: string): Promise<RoundView[]> {
      const live = liveTask(id)
      await live.queue
      const rounds = (await store.listRounds(id)).map(roundView)
      // The open round's counters are freshest in memory.
      const open = live.open
      return open
        ? rounds.map((r) => (r.round === open.record.round ? roundView(open.record) : r))
        : rounds
    },
    /** The model a committed round of a task made: 404 for no such round, 409 for one that made none. */
    async roundModel(
      id: string,
      n: number,
    ): Promise<{ spec: ModelSpec; hash: string; info: ModelInfo }> {
      const live = liveTask(id)
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
    },
    /** The current global model of a task. */
    currentModel(id: string): { spec: ModelSpec; hash: string; info: ModelInfo } {
      const live = liveTask(id)
      return {
        spec: live.record.spec.model,
        hash: live.record.modelHash,
        info: live.info,
      }
    },
    /** Gauges for /metrics. */
    snapshot() {
      return [...tasks.values()].map((t) => ({
        id: t.record.id,
        status: t.record.status,
        selected: t.open?.record.selected ?? 0,
        reported: t.open?.record.reported ?? 0,
      }))
    },
  }
}

export type Scheduler = ReturnType<typeof createScheduler>
