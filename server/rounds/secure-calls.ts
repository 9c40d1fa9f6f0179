import { selectedPerRound } from '../../shared/protocol/index.ts'
import {
  decodeMaskedUpdate,
  maskedBits,
  maskedWords,
  secureBits,
  type KeysMessage,
  type RevealMessage,
  SecAggError,
  type SecAggView,
  type SharesMessage,
} from '../../shared/secagg/index.ts'
import { PollenError } from '../errors.ts'
import type { DeviceRecord } from '../store/index.ts'
import { checkMetadata } from './admission.ts'
import type { Core, LiveRound, LiveTask } from './live.ts'
import { devicePrivacy } from './privacy-budget.ts'
import { createSecureRound } from './secure.ts'
import type { AssignmentKey, Submission } from './submission.ts'
import type { UploadResult } from './types.ts'

/** A round's SecAgg+ settings, from its task and its round settings; null without secure aggregation. */
export function secureSettings(live: LiveTask, round: LiveRound) {
  const { spec } = live.record
  if (!spec.secureAggregation) return null
  const noise = spec.privacy ? devicePrivacy(spec.privacy, round.settings.minReports) : null
  return {
    length: live.info.trainableParameters,
    // An entry of an update clipped to C is at most C; noise of std s passes 6s about once
    // in 500 million entries (clamping it would bend the Gaussian the accountant counts on).
    range: spec.secureAggregation.range ?? (noise ? noise.clipNorm + 6 * noise.noiseStd : 1),
    thresholdShare: spec.secureAggregation.threshold,
    ...secureBits(spec.compression.uploads),
    minSurvivors: round.settings.minReports,
    deadlineSeconds: round.settings.deadlineSeconds,
  }
}

/** Secure aggregation (SecAgg+) in a task's rounds: its stages, masked uploads, the unmasked sum. */
export function createSecureCalls(core: Core, submission: Submission) {
  const { clock, log, tasks } = core

  /** A sync round of a task with secure aggregation gets its SecAgg+ stages as it begins. */
  function begin(live: LiveTask, round: LiveRound, onAbandoned: () => void) {
    const settings = secureSettings(live, round)
    if (!settings) return
    const record = round.record
    round.secure = createSecureRound({
      ...settings,
      clock,
      onAbandoned: (reason) => {
        log(`task ${live.record.id} round ${record.round}: secure aggregation abandoned: ${reason}`)
        onAbandoned()
      },
    })
    live.secureRounds.set(record.round, round.secure)
    for (const n of live.secureRounds.keys()) if (n < record.round - 2) live.secureRounds.delete(n)
  }

  /**
   * The round closes with `reported` masked inputs: the survivors reveal their shares and the sum
   * of their updates goes into the aggregation. Why it cannot be unmasked, or null.
   */
  async function unmask(round: LiveRound, needed: number): Promise<string | null> {
    const { secure } = round
    if (!secure) return null
    const unmasked = round.record.reported >= needed ? await secure.unmask() : null
    if (!unmasked) {
      secure.dispose()
      return 'secure aggregation could not unmask the sum of the updates'
    }
    if (!round.aggregation.acceptSum) throw new Error('this round cannot take a sum of updates')
    round.aggregation.acceptSum(unmasked.sum, unmasked.count)
    return null
  }

  /** A secure round's upload: a masked vector, which only counts towards the survivors' sum. */
  function maskedUpload(
    live: LiveTask,
    round: LiveRound,
    device: DeviceRecord,
    key: AssignmentKey,
    bytes: Uint8Array,
  ): UploadResult {
    const refuse = (problem: 'invalid' | 'out-of-stage', field: string, message: string) =>
      submission.rejectRead(live, round, device, { problem, field, message }, bytes)
    try {
      // Before the share stage the shape is unknown; collect refuses the upload then anyway.
      const config = round.secure!.config
      const { metadata: raw, masked } = decodeMaskedUpdate(bytes, {
        expectedLength: config ? maskedWords(config) : round.info.trainableParameters,
        expectedBits: config ? maskedBits(config) : 32,
      })
      const checked = checkMetadata(raw, round.record.baseModel, round.claims.get(device.id)!)
      if ('field' in checked) return refuse('invalid', checked.field, checked.message)
      round.secure!.masked(device.id, masked)
      // Once every device that shared has uploaded, no more can come: close now.
      const closeAt = round.secure!.stage === 'collect' ? round.settings.clientsPerRound : 0
      const update = { bytes, metadata: checked.metadata, delta: null }
      return submission.accept(live, round, device, key, update, { closeAt })
    } catch (error) {
      if (!(error instanceof SecAggError)) throw error
      return refuse(error.status === 409 ? 'out-of-stage' : 'invalid', error.field, error.message)
    }
  }

  /** The secure round `n` of a task, with SecAgg+'s refusals as API errors. */
  function secureCall<T>(
    taskId: string,
    n: number,
    call: (secure: LiveRound['secure'] & {}) => T,
  ): T {
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

  /** What SecAgg+ asks of this device now in round `n` (GET …/secagg). */
  function view(device: DeviceRecord, taskId: string, n: number): SecAggView {
    // The open round knows its devices; after a restart it is a new round under the old number.
    const open = tasks.get(taskId)?.open
    if (open?.secure && open.record.round === n && !open.devices.has(device.id))
      throw new PollenError(
        'not_selected',
        `device ${device.id} is not part of round ${n} (not selected, or the round was re-opened after a coordinator restart)`,
        'round',
      )
    return secureCall(taskId, n, (secure) => secure.view(device.id))
  }

  /** Keys from a device selected in the open round (only it may take part). */
  function keys(device: DeviceRecord, taskId: string, n: number, message: KeysMessage) {
    const round = tasks.get(taskId)?.open
    if (round?.record.round === n && round.devices.get(device.id) !== 'assigned')
      throw new PollenError(
        'not_selected',
        `device ${device.id} was not selected in round ${n}, or has answered already`,
        'round',
      )
    secureCall(taskId, n, (secure) =>
      secure.keys(device.id, message, round ? selectedPerRound(round.settings) : 0),
    )
  }

  return {
    begin,
    unmask,
    maskedUpload,
    view,
    keys,
    shares: (device: DeviceRecord, taskId: string, n: number, message: SharesMessage) =>
      secureCall(taskId, n, (secure) => secure.shares(device.id, message)),
    reveal: (device: DeviceRecord, taskId: string, n: number, message: RevealMessage) =>
      secureCall(taskId, n, (secure) => secure.reveal(device.id, message)),
  }
}

export type SecureCalls = ReturnType<typeof createSecureCalls>
