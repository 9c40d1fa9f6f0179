import { noParticipation } from '../../shared/protocol/index.ts'
import type { ModelRegistry } from '../models/index.ts'
import type { LiveRound, LiveTask } from '../rounds/live.ts'
import { countParticipation } from '../rounds/submission.ts'
import type { DeviceRecord, Store } from '../store/index.ts'
import type { Ledger } from './ledger.ts'

/**
 * A closing round's figures from the database, whichever replica took what: its counts from
 * the assignments (exact), its devices' states (the strategy's failures), and from the spooled
 * updates' metadata its participation and training loss.
 */
export async function roundOutcome(store: Store, ledger: Ledger, round: LiveRound) {
  const { taskId, round: n } = round.record
  const [assignments, spooled, counts] = await Promise.all([
    store.listAssignments(taskId, n),
    ledger.spoolMeta(taskId, n),
    ledger.counts(taskId, n),
  ])
  const r = round.record
  Object.assign(r, counts)
  r.dropped = r.selected - r.reported - r.rejected
  round.devices = new Map(assignments.map((a) => [a.deviceId, a.state]))
  const byDevice = new Map(assignments.map((a) => [a.deviceId, a]))
  r.participation = noParticipation()
  let lossSum = 0
  let lossExamples = 0
  for (const s of spooled) {
    const a = byDevice.get(s.deviceId)
    // What the device said at the check-in that selected it, as the assignment keeps it.
    const capabilities = a?.backend
      ? { backend: a.backend, examplesPerSecond: a.examplesPerSecond ?? undefined }
      : null
    countParticipation(r, { capabilities } as DeviceRecord, s.examples, s.partial)
    if (s.loss !== null) {
      lossSum += s.loss * s.examples
      lossExamples += s.examples
    }
  }
  r.trainingLoss = lossExamples > 0 ? lossSum / lossExamples : null
}

/** The server optimizer's moments as the last commit stored them (whichever replica did). */
export async function restoreStrategy(models: ModelRegistry, live: LiveTask) {
  const hash = live.record.optimizerState
  if (!live.strategy.restore) return
  live.strategy.restore(hash ? await models.weights(hash) : [], live.info.updateSpec)
}
