import { SecAggError, stageError } from './errors.ts'
import type { Random } from './graph.ts'
import type { KeysMessage, SecAggConfig, SecAggStage } from './messages.ts'

/** The round's settings, defaults filled in and checked. */
export interface RoundSettings {
  length: number
  range: number
  thresholdShare: number
  minSurvivors: number
  dropoutRate: number
  retryAfterSeconds: number
  degree: number | undefined
  random: Random
  /** b-bit rounds (ring.ts): bits an entry after the rotation; undefined for fixed point. */
  bits?: number | undefined
}

export interface Participant {
  keys: KeysMessage
  maskKey: Uint8Array
  neighbours: string[]
  shared: boolean
  collected: boolean
  revealed: boolean
  /** Bytes of messages and masked inputs received from it, and of views served to it. */
  received: number
  sent: number
}

/** Everything one SecAgg+ round knows: the one state every stage function reads and moves on. */
export interface RoundState {
  readonly settings: RoundSettings
  stage: SecAggStage
  /** Why the round was abandoned; null otherwise. */
  reason: string | null
  /** Fixed when advertising closes; null before. */
  config: SecAggConfig | null
  /** finish() is unmasking: every call waits or is refused until it is done. */
  finishing: boolean
  /** U1 (once advertising closed), each with its keys, neighbours and progress. */
  readonly participants: Map<string, Participant>
  /** Every public key advertised, so that no participant can replay another's. */
  readonly advertisedKeys: Set<string>
  /** U2: shared. */
  readonly u2: Set<string>
  /** U3: masked input arrived. */
  readonly u3: Set<string>
  /** Sealed bundles by recipient. */
  inbox: Map<string, { from: string; ciphertext: string }[]>
  /** The masked inputs summed modulo 2³², from the collect stage until the round ends. */
  sum: Uint32Array | null
  /** Revealed shares of survivors' self-mask seeds and of dropped participants' mask keys. */
  readonly selfShares: Map<string, Uint8Array[]>
  readonly keyShares: Map<string, Uint8Array[]>
}

export function newRoundState(settings: RoundSettings): RoundState {
  return {
    settings,
    stage: 'advertise',
    reason: null,
    config: null,
    finishing: false,
    participants: new Map(),
    advertisedKeys: new Set(),
    u2: new Set(),
    u3: new Set(),
    inbox: new Map(),
    sum: null,
    selfShares: new Map(),
    keyShares: new Map(),
  }
}

/** Refuses a call that belongs to another stage (or comes while finish() unmasks). */
export function expectStage(s: RoundState, wanted: SecAggStage, call: string): void {
  if (s.stage === wanted && !s.finishing) return
  const now = s.finishing
    ? 'finishing'
    : s.stage === 'abandoned'
      ? `abandoned (${s.reason})`
      : s.stage
  throw stageError(`${call} belongs to the ${wanted} stage; the round is ${now}`)
}

export function member(s: RoundState, id: string): Participant {
  const p = s.participants.get(id)
  if (!p) throw new SecAggError('unknown_participant', 'id', `${id} is not in this round`)
  return p
}

/** A participant still in `set` (U2 or U3); one that `missed` a stage is refused as dropped. */
export function need(s: RoundState, id: string, set: Set<string>, missed: string): Participant {
  const p = member(s, id)
  if (!set.has(id)) throw new SecAggError('dropped', 'id', `${id} ${missed} and left the round`)
  return p
}

export const neighboursIn = (s: RoundState, id: string, set: Set<string>) =>
  member(s, id).neighbours.filter((n) => set.has(n))

/** Participants that shared but sent no masked input: their pairwise masks must come off. */
export const dropped = (s: RoundState) => [...s.u2].filter((id) => !s.u3.has(id))

export const graphOf = (s: RoundState) =>
  new Map([...s.participants].map(([id, p]) => [id, p.neighbours]))

/** Ends the round; a no-op if already abandoned, a 409 'stage' once done. */
export function abandon(s: RoundState, why: string): void {
  if (s.stage === 'abandoned') return
  if (s.stage === 'done') throw stageError('the round is done')
  s.stage = 'abandoned'
  s.reason = why
  s.inbox = new Map()
  s.sum = null
}

/** The first participant of `group` with fewer than t neighbours in `live`, if any. */
export function shortOfHolders(s: RoundState, group: Iterable<string>, live: Set<string>) {
  const t = s.config!.threshold
  for (const id of group) {
    const count = neighboursIn(s, id, live).length
    if (count < t) return `${id} has ${count} of the ${t} neighbours its secrets need`
  }
  return null
}

/** Who still lacks shares, in words; null when every secret can be rebuilt. */
export function missing(s: RoundState): string | null {
  const t = s.config?.threshold ?? 0
  const selfShort = [...s.u3].filter((id) => (s.selfShares.get(id)?.length ?? 0) < t)
  const keyShort = dropped(s).filter((id) => (s.keyShares.get(id)?.length ?? 0) < t)
  if (selfShort.length === 0 && keyShort.length === 0) return null
  return [
    selfShort.length > 0 ? `${selfShort.length} survivors' self-mask seeds` : '',
    keyShort.length > 0 ? `${keyShort.length} dropped participants' mask keys` : '',
  ]
    .filter(Boolean)
    .join(' and ')
    .concat(` have fewer than ${t} shares`)
}
