import type { Assignment, CheckinAnswer, CheckinRequest } from '../../shared/protocol/index.ts'
import { selectedPerRound } from '../../shared/protocol/index.ts'
import { claimBound } from '../rounds/claims.ts'
import { accepting, type Core, type LiveRound, type LiveTask } from '../rounds/live.ts'
import { retryLater } from '../rounds/pace.ts'
import { assignment, eligibleTasks, noteCheckin } from '../rounds/selection.ts'
import type { DeviceRecord } from '../store/index.ts'
import type { Ledger } from './ledger.ts'
import type { ClusterSecure } from './secure.ts'

/**
 * A check-in on any replica: today's eligibility and work sizing (selection.ts), with the
 * selection itself one statement in the database (ledger.select), so that replicas together
 * never select past a round's cap nor a device twice. A device selected before and not yet
 * answered (a reload, on whichever replica) is given its assignment again.
 */
export function createClusterCheckin(
  core: Core,
  {
    ledger,
    secure,
    replicaId,
    retry,
    random,
  }: {
    ledger: Ledger
    secure: Pick<ClusterSecure, 'selecting' | 'mayRejoin'>
    replicaId: string
    retry: { minSeconds: number; maxSeconds: number }
    random: () => number
  },
) {
  const { clock, events, metrics, tasks } = core
  const later = (eligible: LiveTask[], why?: string) =>
    retryLater(eligible, { now: clock.now(), retry, random }, why)

  async function checkin(device: DeviceRecord, request: CheckinRequest): Promise<CheckinAnswer> {
    const saved = noteCheckin(core, device, request)
    const answer = await decide(device, request.consents)
    await saved
    metrics.inc('pollen_checkins_total', { answer: answer.type })
    return answer
  }

  async function decide(
    device: DeviceRecord,
    consents: readonly string[] | undefined,
  ): Promise<CheckinAnswer> {
    const eligible = eligibleTasks(tasks.values(), device, consents, later)
    if (!Array.isArray(eligible)) return eligible
    // Least full first, as this replica last saw them; a full round is still asked, since the
    // device may hold an assignment there already (a reload).
    const load = (round: LiveRound) => round.record.selected / selectedPerRound(round.settings)
    const candidates = eligible
      .filter((t) => t.record.status === 'running' && t.open && accepting(t.open))
      .map((t) => ({ live: t, round: t.open! }))
      .sort((a, b) => load(a.round) - load(b.round))
    for (const { live, round } of candidates) {
      // A secure round takes devices only until its participants are fixed.
      if (!(await secure.selecting(live, round))) continue
      const answer = await select(live, round, device)
      if (answer) return answer
    }
    return later(eligible)
  }

  /** The device selected in `round` (or given its assignment there again), else undefined. */
  async function select(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
  ): Promise<Assignment | undefined> {
    const now = clock.now()
    const r = round.record
    // The work is sized to the deadline, which the round's first selection fixes: until then,
    // a whole deadline ahead. What the update may claim is bounded by this larger plan.
    const deadlineMs = round.settings.deadlineSeconds * 1000
    if (r.deadlineAt === null) r.deadlineAt = now + deadlineMs
    const planned = assignment(live, round, device, now)
    const declared = device.datasets.find((d) => d.name === live.record.spec.dataset)?.examples
    const claim = claimBound(planned.plan, declared ?? 0)
    const outcome = await ledger.select({
      taskId: live.record.id,
      round: r.round,
      deviceId: device.id,
      cap: selectedPerRound(round.settings),
      now,
      deadlineMs,
      claim,
      backend: device.capabilities?.backend ?? null,
      examplesPerSecond: device.capabilities?.examplesPerSecond ?? null,
      replicaId,
    })
    if (outcome.type === 'full') r.selected = Math.max(r.selected, selectedPerRound(round.settings))
    if (outcome.type === 'already' && outcome.state === 'assigned') {
      // A secure round's device that lost its keys (a reload) cannot rejoin once it advertised.
      if (!(await secure.mayRejoin(live, round, device.id))) return undefined
      const stored = await ledger.round(live.record.id, r.round)
      if (stored?.deadlineAt != null) r.deadlineAt = stored.deadlineAt
      return assignment(live, round, device, clock.now())
    }
    if (outcome.type !== 'selected') return undefined
    Object.assign(r, { selected: outcome.selected, firstAssignedAt: outcome.firstAssignedAt })
    r.deadlineAt = outcome.deadlineAt
    round.phase = 'selecting'
    round.claims.set(device.id, claim)
    const { id: taskId } = live.record
    events.publish({
      type: 'device.state',
      deviceId: device.id,
      state: 'assigned',
      taskId,
      round: r.round,
    })
    core.publishRound(live, round)
    // Sized again on the deadline the database holds (another replica's first selection may
    // have set it earlier: a plan no larger than the claim's).
    return assignment(live, round, device, now)
  }

  return { checkin }
}
