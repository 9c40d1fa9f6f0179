import { SecAggError } from '../../shared/secagg/index.ts'
import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import type { UploadResult } from '../rounds/types.ts'
import type { DeviceRecord } from '../store/index.ts'
import type { Ledger } from './ledger.ts'
import type { ClusterSecure } from './secure.ts'
import { acceptInput, type UploadAnswers } from './upload-answers.ts'

/** A secure round's uploads on a replica (see acceptMasked). */
export function createMaskedAccept(
  core: Core,
  {
    ledger,
    secure,
    replicaId,
    answers,
  }: { ledger: Ledger; secure: ClusterSecure; replicaId: string; answers: UploadAnswers },
) {
  const { clock } = core
  const { rejected, accepted, refused } = answers

  /**
   * A secure round's upload: a masked frame, accepted in one transaction with its collect entry
   * in the round's log (refused as SecAgg+ refuses it: a device that did not share, a second
   * input, the stage over), then summed into this replica's masked partial.
   */
  async function acceptMasked(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    claim: Parameters<ClusterSecure['readMasked']>[1],
    bytes: Uint8Array,
  ): Promise<UploadResult> {
    const n = round.record.round
    const key = { taskId: live.record.id, round: n, deviceId: device.id }
    const read = secure.readMasked(round, claim, bytes)
    if ('field' in read) return rejected(key, { problem: 'invalid', ...read }, bytes)
    const { metadata, masked } = read
    let outcome: Awaited<ReturnType<Ledger['accept']>>
    try {
      outcome = await ledger.accept({
        ...acceptInput(key, replicaId, clock.now(), metadata, bytes),
        within: secure.collecting(live, round, device.id, masked.length),
      })
    } catch (error) {
      if (error instanceof SecAggError) {
        const problem = error.status === 409 ? 'out-of-stage' : 'invalid'
        return rejected(key, { problem, field: error.field, message: error.message }, bytes)
      }
      secure.forget(live.record.id, n)
      throw error
    }
    if (outcome.type !== 'accepted') return refused(outcome, device, key)
    secure.collected(key.taskId, n, device.id, masked)
    return accepted(live, round, device, key, outcome, bytes.length)
  }

  return acceptMasked
}
