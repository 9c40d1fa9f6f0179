import {
  createSecAggRound,
  type KeysMessage,
  type RevealMessage,
  type SecAggResult,
  type SecAggRound,
  type SecAggView,
  type SharesMessage,
} from '../../shared/secagg/index.ts'
import type { Clock, TimerHandle } from '../clock/index.ts'

/**
 * How long each stage may wait for the slow, as shares of the round's deadline, and at least
 * MIN_WINDOW_MS (a few of the devices' polls).
 */
export const MIN_WINDOW_MS = 5000
export const SECURE_WINDOWS = {
  /** From the first assignment: selection ends and keys must be in. */
  advertise: 0.15,
  /** From the end of advertise: shares must be in. */
  share: 0.15,
  /** From the round's close: the survivors' reveals must be in. */
  unmask: 0.25,
} as const

export interface SecureRoundOptions {
  length: number
  range: number
  /** b-bit rounds: bits an entry after the rotation (shared/secagg/ring.ts). */
  bits?: number
  thresholdShare: number
  /** Fewest masked inputs whose sum may be learnt: the round's minReports (at least 2). */
  minSurvivors: number
  deadlineSeconds: number
  clock: Clock
  /** Selection or sharing ended with too few to go on: the scheduler abandons the round. */
  onAbandoned: (reason: string) => void
}

/**
 * One sync round's secure aggregation on the coordinator's clock: SecAgg+'s stages (shared/secagg)
 * with the windows that close them when devices are slow, so a round never waits on a device
 * that went away.
 */
export function createSecureRound(options: SecureRoundOptions) {
  const { clock, deadlineSeconds } = options
  const agg: SecAggRound = createSecAggRound({
    length: options.length,
    range: options.range,
    thresholdShare: options.thresholdShare,
    minSurvivors: Math.max(2, options.minSurvivors),
    // Devices ask again this soon: a stage's window is a few of their polls.
    retryAfterSeconds: 1,
    ...(options.bits !== undefined ? { bits: options.bits } : {}),
  })
  let timer: TimerHandle | undefined
  let revealed: (() => void) | undefined
  const window = (share: number) => Math.max(MIN_WINDOW_MS, share * deadlineSeconds * 1000)
  const later = (ms: number, then: () => void) => {
    if (timer) clock.clearTimeout(timer)
    timer = clock.setTimeout(() => {
      timer = undefined
      then()
    }, ms)
  }
  const abandoned = () => {
    if (agg.stage === 'abandoned') options.onAbandoned(agg.reason ?? 'secure aggregation failed')
  }

  function closeAdvertise() {
    if (agg.stage !== 'advertise') return
    if (agg.closeAdvertise() === 'share') later(window(SECURE_WINDOWS.share), closeShare)
    abandoned()
  }

  function closeShare() {
    if (agg.stage !== 'share') return
    agg.closeShare()
    abandoned()
  }

  return {
    get stage() {
      return agg.stage
    },
    /** Devices may still be selected (they must advertise before the graph is fixed). */
    get selecting() {
      return agg.stage === 'advertise'
    },
    stats: () => agg.stats,
    /** What the participants agreed (null before the share stage): a masked upload's shape. */
    get config() {
      return agg.config
    },
    /** The round's first device was selected: keys must be in within the advertise window. */
    selectionStarted() {
      if (!timer && agg.stage === 'advertise')
        later(window(SECURE_WINDOWS.advertise), closeAdvertise)
    },
    view: (id: string): SecAggView => agg.view(id),
    /** Keys from a selected device; once all `selected` are in, sharing starts at once. */
    keys(id: string, keys: KeysMessage, selected: number) {
      agg.advertise(id, keys)
      if (agg.stats.advertised.length >= selected) closeAdvertise()
    },
    shares(id: string, message: SharesMessage) {
      agg.share(id, message)
      if (agg.stage !== 'share' && timer) {
        clock.clearTimeout(timer)
        timer = undefined
      }
      // The last share may close the stage, and too few may have shared to go on.
      abandoned()
    },
    masked(id: string, masked: Uint32Array) {
      agg.collect(id, masked)
      abandoned()
    },
    /** A selected device may be given its assignment again only before it advertised keys. */
    mayRejoin: (id: string) => agg.stage === 'advertise' && !agg.stats.advertised.includes(id),
    reveal(id: string, message: RevealMessage) {
      agg.reveal(id, message)
      if (agg.ready) revealed?.()
    },
    /**
     * The round closes: the masked inputs in are the survivors; wait for their reveals (up to
     * the unmask window) and unmask the sum. Null when the round cannot be unmasked.
     */
    async unmask(): Promise<SecAggResult | null> {
      if (timer) clock.clearTimeout(timer)
      timer = undefined
      if (agg.stage === 'advertise' || agg.stage === 'share')
        agg.abandon('the round closed before secure aggregation reached its collect stage')
      if (agg.stage === 'collect') agg.closeCollect()
      if (agg.stage !== 'unmask') return null
      if (!agg.ready)
        await new Promise<void>((resolve) => {
          revealed = resolve
          later(window(SECURE_WINDOWS.unmask), resolve)
        })
      revealed = undefined
      if (timer) clock.clearTimeout(timer)
      timer = undefined
      try {
        return await agg.finish()
      } catch {
        return null
      }
    },
    get reason() {
      return agg.reason
    },
    /**
     * Stops its timers (the round closed without a sum, a task deleted, the coordinator
     * stopping); devices still following the round hear that it was abandoned.
     */
    dispose(reason = 'the round closed without enough masked inputs to unmask') {
      if (timer) clock.clearTimeout(timer)
      timer = undefined
      revealed?.()
      if (agg.stage !== 'done' && agg.stage !== 'abandoned') agg.abandon(reason)
    },
  }
}

export type SecureRound = ReturnType<typeof createSecureRound>
