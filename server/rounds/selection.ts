import type { Assignment, CheckinAnswer, CheckinRequest } from '../../shared/protocol/index.ts'
import type { DeviceRecord } from '../store/index.ts'
import { claimBound, widenedBound } from './claims.ts'
import { accepting, type Core, type LiveRound, type LiveTask } from './live.ts'
import { devicePrivacy } from './privacy-budget.ts'
import { retryLater } from './pace.ts'
import { holds, ineligibility, sizeWork } from './work.ts'

/** The work a device of `round` is given now. */
export function assignment(
  live: LiveTask,
  round: LiveRound,
  device: DeviceRecord,
  now: number,
): Assignment {
  const task = live.record
  const deadlineAt = live.policy.deadlineAt(round, now)
  const configured = live.strategy.configureTrain({
    round: round.record.round,
    settings: round.train,
    device,
  })
  const { proximalMu, ...plan } = configured
  const base = round.record.baseModel
  const rounds = `/api/v1/tasks/${task.id}/rounds/${round.record.round}`
  return {
    type: 'assignment',
    taskId: task.id,
    round: round.record.round,
    dataset: task.spec.dataset,
    model: { spec: task.spec.model, hash: base, url: `/api/v1/models/${base}` },
    plan: sizeWork({
      // μ only where it is on: a plan without it trains as it always did.
      plan: proximalMu ? { ...plan, proximalMu } : plan,
      work: task.spec.work,
      deadlineSeconds: round.settings.deadlineSeconds,
      secondsLeft: (deadlineAt - now) / 1000,
      examplesPerSecond: device.capabilities?.examplesPerSecond,
    }),
    deadline: new Date(deadlineAt).toISOString(),
    uploadUrl: `${rounds}/updates`,
    compression: {
      uploads: [...task.spec.compression.uploads],
      downloads: [...task.spec.compression.downloads],
    },
    ...(task.spec.privacy
      ? { privacy: devicePrivacy(task.spec.privacy, round.settings.minReports) }
      : {}),
    // Every sync round of a secure task runs SecAgg+ (on replicas, from the database's log).
    ...(task.spec.secureAggregation ? { secureAggregation: { url: `${rounds}/secagg` } } : {}),
  }
}

/** What a check-in says of its device (capabilities, datasets, when seen): kept, and stored. */
export function noteCheckin(
  { store, clock }: Pick<Core, 'store' | 'clock'>,
  device: DeviceRecord,
  request: CheckinRequest,
): Promise<void> {
  const now = clock.now()
  device.capabilities = request.capabilities
  device.datasets = request.datasets
  device.lastSeenAt = now
  return store.updateDevice(device.id, {
    capabilities: request.capabilities,
    datasets: request.datasets,
    lastSeenAt: now,
  })
}

/** The running or paused tasks this device may join, or why none (the cluster's check-in too). */
export function eligibleTasks(
  tasks: Iterable<LiveTask>,
  device: DeviceRecord,
  consents: readonly string[] | undefined,
  later: (offered: LiveTask[], why: string) => CheckinAnswer,
): LiveTask[] | CheckinAnswer {
  const offered = [...tasks].filter(
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
  if (eligible.length > 0) return eligible
  // What the device is rules it out for good; what it is doing (charging, network) for now.
  const reasons = refusals.map(({ live, why }) => `task ${live.record.spec.name} ${why!.reason}`)
  const transient = refusals.some((r) => r.why!.kind === 'transient')
  return transient
    ? later(offered, reasons.join('; '))
    : { type: 'none', reason: reasons.join('; ') }
}

/** A check-in: which task's round takes the device, with what work; or when to come back. */
export function createSelection(
  core: Core,
  {
    retry,
    random,
    startSelecting,
  }: {
    retry: { minSeconds: number; maxSeconds: number }
    random: () => number
    startSelecting: (live: LiveTask, round: LiveRound) => void
  },
) {
  const { store, clock, events, metrics, tasks } = core
  const later = (eligible: LiveTask[], why?: string) =>
    retryLater(eligible, { now: clock.now(), retry, random }, why)

  async function checkin(device: DeviceRecord, request: CheckinRequest): Promise<CheckinAnswer> {
    const saved = noteCheckin(core, device, request)
    const answer = decide(device, request.consents)
    await saved
    metrics.inc('pollen_checkins_total', { answer: answer.type })
    return answer
  }

  /** The assignment a device selected earlier and not yet answered is given again (a reload). */
  function resume(eligible: LiveTask[], device: DeviceRecord): Assignment | undefined {
    for (const live of eligible) {
      const round = live.open
      const held = live.policy.resume(device.id)
      if (held) return held
      // A secure round's device that lost its keys (a reload) cannot rejoin once it advertised.
      if (round && accepting(round) && round.devices.get(device.id) === 'assigned')
        if (!round.secure || round.secure.mayRejoin(device.id)) {
          const again = assignment(live, round, device, clock.now())
          const claim = round.claims.get(device.id)
          if (claim) round.claims.set(device.id, widenedBound(claim, again.plan))
          return again
        }
    }
    return undefined
  }

  function decide(device: DeviceRecord, consents: readonly string[] | undefined): CheckinAnswer {
    const eligible = eligibleTasks(tasks.values(), device, consents, later)
    if (!Array.isArray(eligible)) return eligible
    const now = clock.now()
    for (const live of eligible) live.policy.beforeCheckin(live, now)
    const again = resume(eligible, device)
    if (again) return again
    // How full each task's work is: a sync round's selections, an async task's devices at work.
    const load = ({ live, round }: { live: LiveTask; round: LiveRound }) =>
      live.policy.load(live, round)
    const candidates = eligible
      .filter((t) => t.record.status === 'running' && t.open && accepting(t.open))
      .map((t) => ({ live: t, round: t.open! }))
      .filter(({ live, round }) => live.policy.mayJoin(round, device.id))
      // A secure round takes devices only until its participants are fixed.
      .filter(({ round }) => !round.secure || round.secure.selecting)
      .filter((c) => load(c) < 1)
      .sort((a, b) => load(a) - load(b))
    const chosen = candidates[0]
    if (!chosen) return later(eligible)
    return select(chosen.live, chosen.round, device)
  }

  /** Selects the device in the round: counted, stored, announced, and given its work. */
  function select(live: LiveTask, round: LiveRound, device: DeviceRecord): Assignment {
    round.devices.set(device.id, 'assigned')
    round.record.selected += 1
    startSelecting(live, round)
    round.secure?.selectionStarted()
    const key = { taskId: live.record.id, round: round.record.round, deviceId: device.id }
    const assignedAt = clock.now()
    round.record.firstAssignedAt ??= assignedAt
    void core.enqueue(live, () =>
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
    void core.persistRound(live, round)
    const { taskId, round: n } = key
    events.publish({
      type: 'device.state',
      deviceId: device.id,
      state: 'assigned',
      taskId,
      round: n,
    })
    core.publishRound(live, round)
    const answer = assignment(live, round, device, clock.now())
    // What its update may claim: bounded by what it declares now, whatever it declares later.
    const declared = device.datasets.find((d) => d.name === live.record.spec.dataset)?.examples
    live.policy.selected(round, device, answer, claimBound(answer.plan, declared ?? 0))
    return answer
  }

  return { checkin }
}
