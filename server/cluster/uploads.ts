import { checkUpdate, uploadLimit } from '../rounds/admission.ts'
import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import { duplicate, unknown } from '../rounds/submission.ts'
import { TOO_LARGE, type UploadInput, type UploadResult } from '../rounds/types.ts'
import type { TaskCache } from './cache.ts'
import type { Ledger } from './ledger.ts'
import type { ClusterSecure } from './secure.ts'
import { acceptInput, createUploadAnswers } from './upload-answers.ts'
import { createMaskedAccept } from './uploads-masked.ts'

/**
 * Uploads and downloads on any replica. An update is read and checked here, then accepted in
 * one transaction with its bytes spooled (ledger.accept): only once that is committed is the
 * answer `accepted`, so a replica that dies after answering loses nothing. Then it is folded
 * into this replica's own partial aggregation of the round, which the owner merges at the close
 * (partials.ts writes it); where the round's maths does not add up, the owner reads the spool.
 */
export function createClusterUploads(
  core: Core,
  {
    ledger,
    cache,
    secure,
    replicaId,
    reached,
  }: {
    ledger: Ledger
    cache: TaskCache
    secure: ClusterSecure
    replicaId: string
    /** The round has its target of reports: its owner should close it. */
    reached: (live: LiveTask) => void
  },
) {
  const { clock, metrics, log } = core
  const answers = createUploadAnswers(core, { ledger, reached })
  const { late, rejected, accepted, refused } = answers
  const acceptMasked = createMaskedAccept(core, { ledger, secure, replicaId, answers })

  /** The round `n` of the task as this replica knows it, read again if it is behind. */
  async function roundOf(live: LiveTask, n: number): Promise<LiveRound | undefined> {
    if (live.open?.record.round === n) return live.open
    // The task as a whole: a round opened since the last poll moved tasks.round on too.
    const fresh = await cache.refreshTask(live.record.id)
    return fresh?.open?.record.round === n ? fresh.open : undefined
  }

  async function accept(input: UploadInput): Promise<UploadResult> {
    const { device, taskId, round: n, readBody } = input
    const live = core.tasks.get(taskId) ?? (await cache.refreshTask(taskId))
    if (!live) return unknown(`no task ${taskId}`)
    const key = { taskId, round: n, deviceId: device.id }
    const held = Number.isInteger(n) && n >= 1 ? await ledger.assignment(key) : undefined
    if (!held)
      return unknown(`device ${device.id} has no assignment in round ${n} of task ${taskId}`)
    if (held.state !== 'assigned') return duplicate(n, held.state)
    const round = await roundOf(live, n)
    // Not the open round any more: the device is late (marked and counted, as today).
    if (!round || !held.claim) {
      const marked = await ledger.late({ key, now: clock.now() })
      return marked ? late(device, key) : duplicate(n, 'late')
    }

    const limit = uploadLimit(round.info)
    const bytes = await readBody(limit)
    if (bytes === TOO_LARGE) {
      const message = `the update is larger than ${limit} bytes`
      return rejected(key, { problem: 'too-large', field: 'body', message }, null)
    }
    if (live.record.spec.secureAggregation)
      return acceptMasked(live, round, device, held.claim, bytes)
    const { baseModel } = round.record
    const checked = checkUpdate(bytes, {
      baseModel,
      spec: round.info.updateSpec,
      claim: held.claim,
      codecs: live.record.spec.compression.uploads,
    })
    if ('field' in checked) return rejected(key, { problem: 'invalid', ...checked }, bytes)
    const { metadata } = checked
    const outcome = await ledger.accept(acceptInput(key, replicaId, clock.now(), metadata, bytes))
    if (outcome.type !== 'accepted') return refused(outcome, device, key)

    // Durable: from here the round counts it, whatever happens to this process.
    fold(live, round, device.id, checked)
    return accepted(live, round, device, key, outcome, bytes.length)
  }

  /**
   * Adds an accepted update to this replica's partial aggregation of the round, where its maths
   * adds up. A refusal here (it passed every check, so it should not happen) leaves the device
   * out of the partial: the owner then reads this replica's spool instead, which holds it.
   */
  function fold(
    live: LiveTask,
    round: LiveRound,
    deviceId: string,
    { tensors, metadata }: Exclude<ReturnType<typeof checkUpdate>, { field: string }>,
  ) {
    if (!round.aggregation.partial) return
    try {
      round.aggregation.accept({
        deviceId,
        delta: tensors,
        examples: metadata.examples,
        steps: metadata.steps,
        ...(metadata.loss !== undefined ? { loss: metadata.loss } : {}),
      })
      round.devices.set(deviceId, 'reported')
    } catch (error) {
      log(
        `task ${live.record.id} round ${round.record.round}: ${deviceId} not folded: ${String(error)}`,
      )
    }
  }

  async function upload(input: UploadInput): Promise<UploadResult> {
    const result = await accept(input)
    metrics.inc('pollen_uploads_total', { outcome: result.answer.type })
    return result
  }

  return { upload }
}
