import { decodeMaskedUpdate, SecAggError } from '../../shared/secagg/index.ts'
import { stageError } from '../../shared/secagg/errors.ts'
import { applyMask } from '../../shared/secagg/prg.ts'
import { checkMetadata } from '../rounds/admission.ts'
import type { LiveRound, LiveTask } from '../rounds/live.ts'
import type { MaskedSum } from './partials.ts'
import { dropRoundsBefore, NotBegun, type SecureLog } from './secure-log.ts'

/**
 * A secure round's masked uploads on a replica: the frame checked, its collect entry written in
 * the transaction that accepts it, and once that committed its vector added (modulo 2³²) to
 * this replica's sum of the round, which partials.ts writes at the close.
 */
export function createMaskedUploads(secureLog: SecureLog) {
  /** The masked inputs this replica took, per round ("task/round"). */
  const sums = new Map<string, MaskedSum>()

  /**
   * A masked upload's frame checked before it is accepted: its vector and metadata, or the
   * field at fault.
   */
  function readMasked(
    round: LiveRound,
    claim: Parameters<typeof checkMetadata>[2],
    bytes: Uint8Array,
  ) {
    try {
      const { metadata: raw, masked } = decodeMaskedUpdate(bytes, {
        expectedLength: round.info.trainableParameters,
      })
      const checked = checkMetadata(raw, round.record.baseModel, claim)
      if ('field' in checked) return checked
      return { metadata: checked.metadata, masked }
    } catch (error) {
      if (!(error instanceof SecAggError)) throw error
      return { field: error.field, message: error.message }
    }
  }

  /** The collect entry of an accepted masked input, in its accepting transaction. */
  function collecting(live: LiveTask, round: LiveRound, deviceId: string, words: number) {
    const n = round.record.round
    return async (c: Parameters<typeof secureLog.within>[0]) => {
      try {
        await secureLog.within(c, live.record.id, n, null, (w) =>
          w.apply({ call: 'collect', device: deviceId, body: { words } }),
        )
      } catch (error) {
        // A masked input before any device advertised: out of turn, like any other stage's.
        if (error instanceof NotBegun)
          throw stageError('collect belongs to the collect stage; no device has advertised yet')
        throw error
      }
    }
  }

  /** After the accepting transaction committed: the input joins this replica's sum. */
  function collected(taskId: string, n: number, deviceId: string, masked: Uint32Array) {
    const key = `${taskId}/${n}`
    let part = sums.get(key)
    if (!part) sums.set(key, (part = { sum: new Uint32Array(masked.length), devices: [] }))
    applyMask(part.sum, masked, 1)
    part.devices.push(deviceId)
    dropRoundsBefore(sums, taskId, n - 1)
  }

  return {
    readMasked,
    collecting,
    collected,
    masked: (taskId: string, n: number) => sums.get(`${taskId}/${n}`),
  }
}
