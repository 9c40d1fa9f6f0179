import { missing } from '../../shared/secagg/server-state.ts'
import { finish } from '../../shared/secagg/server-unmask.ts'
import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import { MIN_WINDOW_MS, SECURE_WINDOWS } from '../rounds/secure.ts'
import type { Partials } from './partials.ts'
import type { SecureBegin, SecureLog } from './secure-log.ts'

const COULD_NOT_UNMASK = 'secure aggregation could not unmask the sum of the updates'

/**
 * The owner's side of a secure round on replicas: it closes each stage at the end of its window
 * (the windows one process uses, timed from the log's entries, so a new owner keeps them), and
 * at the round's close unmasks the sum of every replica's masked inputs.
 */
export function createSecureOwner(
  core: Core,
  {
    secureLog,
    beginOf,
  }: { secureLog: SecureLog; beginOf: (live: LiveTask, round: LiveRound) => SecureBegin | null },
) {
  const { clock, log } = core
  /** A stage's window: its share of the round's deadline, and at least MIN_WINDOW_MS. */
  const windowMs = (deadlineSeconds: number, share: number) =>
    Math.max(MIN_WINDOW_MS, share * deadlineSeconds * 1000)

  /**
   * The owner's look at a secure round: a stage whose window is over is closed. Its stage now,
   * and when the next window ends (null: none is running).
   */
  async function advance(live: LiveTask, round: LiveRound) {
    const taskId = live.record.id
    const n = round.record.round
    const r = await secureLog.read(taskId, n)
    const stage = r?.state.stage ?? 'advertise'
    // Advertising from the round's first selection, sharing from when advertising closed.
    const [from, share] =
      stage === 'advertise'
        ? [round.record.firstAssignedAt, SECURE_WINDOWS.advertise]
        : stage === 'share'
          ? [r!.since.get('share'), SECURE_WINDOWS.share]
          : [null, 0]
    const deadlineSeconds = r?.begin.deadlineSeconds ?? round.settings.deadlineSeconds
    const ends = from == null ? null : from + windowMs(deadlineSeconds, share)
    if (ends === null || clock.now() < ends) return { stage, nextAt: ends }
    const moved = await secureLog.write(taskId, n, beginOf(live, round), (w) => {
      if (w.round.state.stage === 'advertise') w.closeAdvertise()
      else if (w.round.state.stage === 'share') w.apply({ call: 'closeShare', body: {} })
      return w.round.state
    })
    if (moved.stage === 'abandoned')
      log(`task ${taskId} round ${n}: secure aggregation abandoned: ${moved.reason}`)
    return { stage: moved.stage, nextAt: null }
  }

  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms))

  /**
   * The owner's close of a secure round, after the uploads stopped: collect ends, the survivors
   * reveal their shares (up to the unmask window), every replica's masked sum is merged and
   * unmasked into `round.aggregation`. Why it could not be, or null.
   */
  async function unmask(
    live: LiveTask,
    round: LiveRound,
    partials: Partials,
  ): Promise<string | null> {
    const taskId = live.record.id
    const n = round.record.round
    let r = await secureLog.write(taskId, n, beginOf(live, round), (w) => {
      const { stage } = w.round.state
      if (stage === 'advertise' || stage === 'share')
        w.apply({
          call: 'abandon',
          body: { reason: 'the round closed before secure aggregation reached its collect stage' },
        })
      else if (stage === 'collect') w.apply({ call: 'closeCollect', body: {} })
      return w.round
    })
    if (r.state.stage === 'unmask') {
      const until =
        (r.since.get('unmask') ?? clock.now()) +
        windowMs(r.begin.deadlineSeconds, SECURE_WINDOWS.unmask)
      while (missing(r.state) !== null && clock.now() < until) {
        await sleep(100)
        r = (await secureLog.read(taskId, n))!
      }
    }
    if (r.state.stage !== 'unmask') {
      log(`task ${taskId} round ${n}: ${COULD_NOT_UNMASK}: ${r.state.reason ?? r.state.stage}`)
      return COULD_NOT_UNMASK
    }
    const sum = await partials.gatherMasked(live, n, r.begin.length)
    const result = await secureLog.write(taskId, n, null, async (w) => {
      const s = w.round.state
      if (s.stage !== 'unmask') return null
      s.sum = sum
      try {
        const unmasked = await finish(s)
        w.record({ call: 'done', body: {} })
        return unmasked
      } catch (error) {
        log(`task ${taskId} round ${n}: ${COULD_NOT_UNMASK}: ${String(error)}`)
        w.record({ call: 'abandon', body: { reason: s.reason ?? String(error) } })
        return null
      }
    })
    if (!result) return COULD_NOT_UNMASK
    if (!round.aggregation.acceptSum) throw new Error('this round cannot take a sum of updates')
    round.aggregation.acceptSum(result.sum, result.count)
    return null
  }

  return { advance, unmask }
}
