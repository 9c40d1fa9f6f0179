import { selectedPerRound } from '../../../shared/protocol/index.ts'
import { checkUpdate, uploadLimit } from '../admission.ts'
import { accepting, type Core, type LiveRound, type LiveTask, type RoundPolicy } from '../live.ts'
import type { SecureCalls } from '../secure-calls.ts'
import type { Submission } from '../submission.ts'
import type { CloseReason } from '../transitions.ts'
import { TOO_LARGE } from '../types.ts'

export interface PolicyDeps {
  core: Core
  submission: Submission
  secure: SecureCalls
  startDeadline: (live: LiveTask, round: LiveRound) => void
  close: (live: LiveTask, round: LiveRound, why: CloseReason) => void
}

/**
 * Sync rounds (FedAvg's): a round selects up to ⌈overSelect × clientsPerRound⌉ devices, runs to
 * its deadline from its first selection or closes at clientsPerRound reports, and commits with at
 * least minReports; with secure aggregation, through its SecAgg+ stages.
 */
export function syncPolicy(deps: PolicyDeps): RoundPolicy {
  const { core, submission, secure, close } = deps
  const { store, clock } = core
  return {
    begin: (live, round) =>
      secure.begin(live, round, () => close(live, round, 'secure aggregation')),
    selectionStarted: deps.startDeadline,
    beforeCheckin: () => {},
    resume: () => undefined,
    // How full the round is: its selections over the devices it selects.
    load: (_, round) => round.record.selected / selectedPerRound(round.settings),
    mayJoin: (round, deviceId) => !round.devices.has(deviceId),
    deadlineAt: (round, now) => round.record.deadlineAt ?? now,
    selected(round, device, _answer, claim) {
      round.claims.set(device.id, claim)
    },
    async closing(_, round) {
      const r = round.record
      r.dropped = r.selected - r.reported - r.rejected
      const needed = round.settings.minReports
      // Secure aggregation: the survivors reveal their shares and the server learns their sum.
      const unmasked = await secure.unmask(round, needed)
      if (r.reported < needed) return `fewer reports than the ${needed} it needs`
      return unmasked
    },
    async upload(live, { device, taskId, round: n, readBody, recycleBody }) {
      const key = { taskId, round: n, deviceId: device.id }
      const round = live.open
      if (!round || round.record.round !== n) {
        // Not the open round: the device is late, repeating itself, or was never asked.
        const past = n >= 1 && n <= live.record.round ? await store.getAssignment(key) : undefined
        if (!past)
          return submission.unknown(
            `device ${device.id} has no assignment in round ${n} of task ${taskId}`,
          )
        if (past.state !== 'assigned') return submission.duplicate(n, past.state)
        let marked = false
        await core.enqueue(live, async () => (marked = await store.markLate(key, clock.now())))
        return marked ? submission.late(device, key) : submission.duplicate(n, 'late')
      }
      const state = round.devices.get(device.id)
      if (state === undefined)
        return submission.unknown(
          `device ${device.id} has no assignment in round ${n} of task ${taskId}` +
            ' (not selected, or the round was re-opened after a coordinator restart)',
        )
      if (state !== 'assigned') return submission.duplicate(n, state)
      if (!accepting(round)) return submission.lateInRound(live, round, device, key)

      const limit = uploadLimit(round.info)
      const bytes = await readBody(limit)
      if (bytes === TOO_LARGE) {
        const message = `the update is larger than ${limit} bytes`
        return submission.reject(live, round, device, {
          problem: 'too-large',
          field: 'body',
          message,
        })
      }
      // The round may have closed, or the device answered on another connection, while we read.
      const now = round.devices.get(device.id)!
      if (now !== 'assigned') return submission.duplicate(n, now)
      if (!accepting(round) || live.open !== round)
        return submission.lateInRound(live, round, device, key)

      if (round.secure) return secure.maskedUpload(live, round, device, key, bytes)
      const { baseModel } = round.record
      const claim = round.claims.get(device.id)!
      const checked = checkUpdate(bytes, {
        baseModel,
        spec: round.info.updateSpec,
        claim,
        codecs: live.record.spec.compression.uploads,
      })
      if ('field' in checked)
        return submission.rejectRead(live, round, device, { problem: 'invalid', ...checked }, bytes)
      const { metadata, tensors: delta, norm } = checked
      const update = { bytes, metadata, delta, norm, recycle: recycleBody }
      return submission.accept(live, round, device, key, update, {
        closeAt: round.settings.clientsPerRound,
      })
    },
    wrap: (strategy) => strategy,
  }
}
