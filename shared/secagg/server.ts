import { MAX_HOLDERS, SECAGG_DEFAULTS } from './constants.ts'
import { invalid } from './errors.ts'
import { cryptoRandom, type Random } from './graph.ts'
import type {
  KeysMessage,
  RevealMessage,
  SecAggConfig,
  SecAggStage,
  SecAggView,
  SharesMessage,
} from './messages.ts'
import {
  advertise,
  closeAdvertise,
  closeCollect,
  closeShare,
  collect,
  reveal,
  share,
} from './server-stages.ts'
import {
  abandon,
  missing,
  newRoundState,
  type Participant,
  type RoundSettings,
} from './server-state.ts'
import { finish, type SecAggResult } from './server-unmask.ts'
import { viewOf } from './server-view.ts'

export type { SecAggResult } from './server-unmask.ts'

/**
 * The server side of one SecAgg+ round (Bell et al. 2020, after Bonawitz et al. 2017), as an
 * ordered list of stages over one state, like Flower's SecAggPlusWorkflow:
 *
 *   advertise  participants post two public keys; closeAdvertise fixes U1 and the graph
 *   share      each posts one sealed bundle of shares per neighbour; U2 = those that did
 *   collect    each in U2 fetches the bundles sent to it and posts its masked input; U3
 *   unmask     each in U3 reveals self-mask shares of surviving neighbours and mask-key shares
 *              of dropped ones; finish() rebuilds those secrets and unmasks the sum
 *   done | abandoned
 *
 * Each call is one function over the round's one `RoundState` (server-state.ts): the stage calls
 * and the transitions that close them in server-stages.ts, finish() in server-unmask.ts, what a
 * participant must do now in server-view.ts. This object only binds them to one state.
 *
 * The scheduler drives the clock: it closes a stage at its deadline (share and collect also
 * close by themselves once everyone is in). Each call in the wrong stage is a 409 'stage'; bad
 * input is a 422 naming its field. The server only ever sees masked vectors and the sum.
 */
export interface SecAggRoundOptions {
  /** Entries in each participant's vector. */
  length: number
  /** Each entry is clamped to [−range, range]. */
  range: number
  /** Share of a participant's neighbours needed to rebuild its secrets, above 0.5. */
  thresholdShare?: number
  /** Fewest masked inputs whose sum the server may learn (at least 2). */
  minSurvivors?: number
  /** Expected share of participants lost between advertise and unmask; sizes the graph. */
  dropoutRate?: number
  /** Neighbours per participant, overriding degreeFor (even, at most 255; ≥ n − 1: complete). */
  degree?: number
  /** Draws the graph's permutation (default: crypto randomness). */
  random?: Random
  /** What a waiting participant is told (default 2 s). */
  retryAfterSeconds?: number
  /**
   * b-bit rounds (ring.ts): each vector clipped to L2 norm `range`, rotated with a seed fixed at
   * closeAdvertise, rounded to `bits` bits (1..4) an entry; absent, fixed point modulo 2^32.
   */
  bits?: number
}

export interface SecAggStats {
  /** U1: advertised keys (before closeAdvertise: so far). */
  advertised: string[]
  /** U2: shared. */
  shared: string[]
  /** U3: masked input arrived. */
  collected: string[]
  /** Survivors that revealed their shares. */
  revealed: string[]
  /** Bytes of messages and masked inputs received from, and of views served to, each. */
  bytes: Record<string, { received: number; sent: number }>
}

export interface SecAggRound {
  readonly stage: SecAggStage
  /** Fixed by closeAdvertise; null before. */
  readonly config: SecAggConfig | null
  /** Why the round was abandoned; null otherwise. */
  readonly reason: string | null
  /** In 'unmask': every survivor's self-mask seed and every dropped mask key has t shares. */
  readonly ready: boolean
  readonly stats: SecAggStats
  /** What `id` must do now. Throws 'unknown_participant', or 'dropped' for one left behind. */
  view(id: string): SecAggView
  advertise(id: string, keys: KeysMessage): void
  /** Fixes U1, the graph and the config; returns the new stage ('share' or 'abandoned'). */
  closeAdvertise(): SecAggStage
  share(id: string, message: SharesMessage): void
  /** Fixes U2; returns 'collect' or 'abandoned'. Called by itself when all of U1 shared. */
  closeShare(): SecAggStage
  collect(id: string, masked: Uint32Array): void
  /** Fixes U3; returns 'unmask' or 'abandoned'. Called by itself when all of U2 uploaded. */
  closeCollect(): SecAggStage
  reveal(id: string, message: RevealMessage): void
  /** Unmasks the sum (→ 'done'); if not ready, abandons the round and throws 'threshold'. */
  finish(): Promise<SecAggResult>
  /** Ends the round; a no-op if already abandoned, a 409 'stage' once done. */
  abandon(reason: string): void
}

/** A round's settings from its options: defaults filled in, each checked (422 naming it). */
export function roundSettings(options: SecAggRoundOptions): RoundSettings {
  const settings: RoundSettings = {
    length: options.length,
    range: options.range,
    thresholdShare: options.thresholdShare ?? SECAGG_DEFAULTS.thresholdShare,
    minSurvivors: options.minSurvivors ?? SECAGG_DEFAULTS.minSurvivors,
    dropoutRate: options.dropoutRate ?? SECAGG_DEFAULTS.dropoutRate,
    retryAfterSeconds: options.retryAfterSeconds ?? SECAGG_DEFAULTS.retryAfterSeconds,
    degree: options.degree,
    random: options.random ?? cryptoRandom,
    bits: options.bits,
  }
  checkOptions(settings)
  return settings
}

/** A new round in its advertise stage; each method is one stage function over its state. */
export function createSecAggRound(options: SecAggRoundOptions): SecAggRound {
  const s = newRoundState(roundSettings(options))

  return {
    get stage() {
      return s.stage
    },
    get config() {
      return s.config
    },
    get reason() {
      return s.reason
    },
    get ready() {
      return s.stage === 'unmask' && missing(s) === null
    },
    get stats() {
      const bytes: SecAggStats['bytes'] = {}
      for (const [id, p] of s.participants) bytes[id] = { received: p.received, sent: p.sent }
      const where = (test: (p: Participant) => boolean) =>
        [...s.participants].filter(([, p]) => test(p)).map(([id]) => id)
      return {
        advertised: [...s.participants.keys()],
        shared: where((p) => p.shared),
        collected: where((p) => p.collected),
        revealed: where((p) => p.revealed),
        bytes,
      }
    },
    view(id) {
      const view = viewOf(s, id)
      const p = s.participants.get(id)
      if (p) p.sent += JSON.stringify(view).length
      return view
    },
    advertise: (id, keys) => advertise(s, id, keys),
    closeAdvertise: () => closeAdvertise(s),
    share: (id, message) => share(s, id, message),
    closeShare: () => closeShare(s),
    collect: (id, masked) => collect(s, id, masked),
    closeCollect: () => closeCollect(s),
    reveal: (id, message) => reveal(s, id, message),
    finish: () => finish(s),
    abandon: (reason) => abandon(s, reason),
  }
}

function checkOptions(o: RoundSettings) {
  if (!Number.isInteger(o.length) || o.length < 1 || o.length > 2 ** 28)
    throw invalid('length', 'must be a whole number from 1 to 2^28')
  if (!(o.range > 0) || !Number.isFinite(o.range))
    throw invalid('range', 'must be finite and positive')
  if (!(o.thresholdShare > 0.5 && o.thresholdShare <= 1))
    throw invalid('thresholdShare', 'must be above 0.5 and at most 1')
  if (!Number.isInteger(o.minSurvivors) || o.minSurvivors < 2)
    throw invalid('minSurvivors', 'must be a whole number of at least 2: one input is no sum')
  if (!(o.dropoutRate >= 0 && o.dropoutRate < 1)) throw invalid('dropoutRate', 'must be in [0, 1)')
  if (
    o.degree !== undefined &&
    (!Number.isInteger(o.degree) || o.degree < 2 || o.degree > MAX_HOLDERS)
  )
    throw invalid('degree', `must be a whole number from 2 to ${MAX_HOLDERS}`)
  if (!(o.retryAfterSeconds > 0)) throw invalid('retryAfterSeconds', 'must be positive')
  if (o.bits !== undefined && !(Number.isInteger(o.bits) && o.bits >= 1 && o.bits <= 4))
    throw invalid('bits', 'must be a whole number from 1 to 4')
}
