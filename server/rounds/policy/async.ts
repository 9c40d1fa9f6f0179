import type { Assignment } from '../../../shared/protocol/index.ts'
import { withStaleness } from '../../strategy/index.ts'
import { checkUpdate, uploadLimit } from '../admission.ts'
import type { ClaimBound } from '../claims.ts'
import { accepting, type LiveTask, type RoundPolicy } from '../live.ts'
import { TOO_LARGE, type UploadResult } from '../types.ts'
import type { PolicyDeps } from './sync.ts'

/** A device at work: what it was given, and until when its slot is held. */
interface AtWork {
  answer: Assignment
  until: number
  claim: ClaimBound
}

/**
 * FedBuff (Nguyen et al. 2022): no rounds with deadlines. Up to `async.concurrency` devices train
 * at once, each on the model of the round open when it was assigned; a new version commits every
 * `async.bufferSize` updates. An update `staleness` versions behind is weighed by
 * 1/(1 + staleness)^a, and refused as stale past `maxStaleness`. One per task: it keeps the
 * devices at work and the recent rounds' base models.
 */
export function asyncPolicy(deps: Omit<PolicyDeps, 'secure' | 'startDeadline'>): RoundPolicy {
  const { core, submission } = deps
  const { store, clock, events } = core
  /** The devices training now, by id. */
  const atWork = new Map<string, AtWork>()
  /** Each recent round's base model, to check a stale update against. */
  const bases = new Map<number, string>()

  /**
   * Devices that held their slot past their deadline give it up: counted as dropped in the open
   * round, and told they are late if they upload after all.
   */
  function releaseExpired(live: LiveTask, now: number) {
    for (const [deviceId, work] of atWork) {
      if (work.until > now) continue
      atWork.delete(deviceId)
      if (live.open && accepting(live.open)) live.open.record.dropped += 1
      submission.storeLate(
        live,
        { taskId: live.record.id, round: work.answer.round, deviceId },
        now,
      )
    }
  }

  return {
    begin(live, round) {
      const n = round.record.round
      bases.set(n, round.record.baseModel)
      for (const m of bases.keys()) if (m < n - live.record.spec.async.maxStaleness) bases.delete(m)
    },
    selectionStarted: () => {},
    beforeCheckin: releaseExpired,
    resume: (deviceId) => atWork.get(deviceId)?.answer,
    load: (live) => atWork.size / live.record.spec.async.concurrency,
    mayJoin: () => true,
    // Each device has the deadline's length from now, whatever the buffer is doing.
    deadlineAt: (round, now) => now + round.settings.deadlineSeconds * 1000,
    selected(_, device, answer, claim) {
      atWork.set(device.id, { answer, until: Date.parse(answer.deadline), claim })
    },
    // The round closes on a full buffer only (its drops were counted as they happened).
    closing: (_, round) =>
      Promise.resolve(round.record.reported < 1 ? 'fewer reports than the 1 it needs' : null),
    async upload(live, { device, round: n, readBody, recycleBody }): Promise<UploadResult> {
      const task = live.record
      const key = { taskId: task.id, round: n, deviceId: device.id }
      const work = atWork.get(device.id)
      if (!work || work.answer.round !== n) {
        const past = n >= 1 && n <= task.round ? await store.getAssignment(key) : undefined
        if (!past)
          return submission.unknown(
            `device ${device.id} has no assignment in round ${n} of task ${task.id}`,
          )
        if (past.state !== 'assigned') return submission.duplicate(n, past.state)
        // Its slot was given up at its deadline, or the coordinator restarted since.
        await core.enqueue(live, () => store.markLate(key, clock.now()))
        return submission.late(device, key)
      }
      const round = live.open
      const { maxStaleness } = task.spec.async
      const staleness = round ? round.record.round - n : Number.POSITIVE_INFINITY
      const base = bases.get(n)
      if (!round || !accepting(round) || staleness > maxStaleness || base === undefined) {
        atWork.delete(device.id)
        submission.storeLate(live, key)
        events.publish({
          type: 'device.state',
          deviceId: device.id,
          state: 'late',
          taskId: task.id,
          round: n,
        })
        const message = round
          ? `round ${n} is ${staleness} round${staleness === 1 ? '' : 's'} behind round ${round.record.round}, more than this task's maxStaleness ${maxStaleness}; the update was not aggregated`
          : `task ${task.id} has no open round; the update was not aggregated`
        return { answer: { type: 'stale', round: n, staleness, maxStaleness, message } }
      }

      const limit = uploadLimit(round.info)
      const bytes = await readBody(limit)
      if (bytes === TOO_LARGE) {
        atWork.delete(device.id)
        const message = `the update is larger than ${limit} bytes`
        const refusal = { problem: 'too-large' as const, field: 'body', message }
        return submission.reject(live, round, device, refusal, 0, n)
      }
      // The buffer may have filled, or the device answered on another connection, while we read.
      if (atWork.get(device.id) !== work) return submission.duplicate(n, 'reported')
      atWork.delete(device.id)
      if (!accepting(round) || live.open !== round) {
        submission.storeLate(live, key)
        return submission.late(device, key)
      }
      const checked = checkUpdate(bytes, {
        baseModel: base,
        spec: round.info.updateSpec,
        claim: work.claim,
        codecs: task.spec.compression.uploads,
      })
      if ('field' in checked) {
        const refusal = { problem: 'invalid' as const, ...checked }
        return submission.rejectRead(live, round, device, refusal, bytes, n)
      }
      const { metadata, tensors: delta, norm } = checked
      const update = { bytes, metadata, delta, norm, recycle: recycleBody }
      return submission.accept(live, round, device, key, update, {
        closeAt: task.spec.async.bufferSize,
        staleness,
      })
    },
    wrap: (strategy, live) =>
      withStaleness(strategy, () => live.record.spec.async.stalenessExponent),
  }
}
