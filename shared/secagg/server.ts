import { MAX_HOLDERS, SEALED_BUNDLE_BYTES, SECAGG_DEFAULTS, SHARE_BYTES } from './constants.ts'
import { invalid, parseMessage, SecAggError, stageError } from './errors.ts'
import {
  buildGraph,
  cryptoRandom,
  degreeFor,
  holderX,
  isConnected,
  type Random,
  thresholdFor,
} from './graph.ts'
import { agree, checkPublicRaw, importPrivateScalar, importPublicRaw } from './keys.ts'
import {
  type KeysMessage,
  KeysMessageSchema,
  type RevealMessage,
  RevealMessageSchema,
  type SecAggConfig,
  type SecAggStage,
  type SecAggView,
  type SharesMessage,
  SharesMessageSchema,
} from './messages.ts'
import { forEachLimit, EXPANSIONS_IN_FLIGHT } from './pool.ts'
import { applyMask, expandMask, pairSign } from './prg.ts'
import { dequantizeSum, scaleFor } from './quantize.ts'
import { combine } from './shamir.ts'
import { fromBase64url } from './wire.ts'

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
}

export interface SecAggResult {
  /** The sum of the survivors' clamped vectors, within quantizationError(count, scale). */
  sum: Float64Array
  /** Survivors: participants whose masked input is in the sum. */
  count: number
  survivors: string[]
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

interface Participant {
  keys: KeysMessage
  maskKey: Uint8Array
  neighbours: string[]
  shared: boolean
  collected: boolean
  revealed: boolean
  received: number
  sent: number
}

export function createSecAggRound(options: SecAggRoundOptions): SecAggRound {
  const { length, range } = options
  const thresholdShare = options.thresholdShare ?? SECAGG_DEFAULTS.thresholdShare
  const minSurvivors = options.minSurvivors ?? SECAGG_DEFAULTS.minSurvivors
  const dropoutRate = options.dropoutRate ?? SECAGG_DEFAULTS.dropoutRate
  const retryAfterSeconds = options.retryAfterSeconds ?? SECAGG_DEFAULTS.retryAfterSeconds
  const random = options.random ?? cryptoRandom
  checkOptions({ ...options, thresholdShare, minSurvivors, dropoutRate, retryAfterSeconds })

  let stage: SecAggStage = 'advertise'
  let reason: string | null = null
  let config: SecAggConfig | null = null
  let finishing = false
  const participants = new Map<string, Participant>()
  const advertisedKeys = new Set<string>()
  const u2 = new Set<string>()
  const u3 = new Set<string>()
  /** Sealed bundles by recipient. */
  let inbox = new Map<string, { from: string; ciphertext: string }[]>()
  let sum: Uint32Array | null = null
  const selfShares = new Map<string, Uint8Array[]>()
  const keyShares = new Map<string, Uint8Array[]>()

  const expect = (wanted: SecAggStage, call: string) => {
    if (stage === wanted && !finishing) return
    const now = finishing ? 'finishing' : stage === 'abandoned' ? `abandoned (${reason})` : stage
    throw stageError(`${call} belongs to the ${wanted} stage; the round is ${now}`)
  }
  const member = (id: string): Participant => {
    const p = participants.get(id)
    if (!p) throw new SecAggError('unknown_participant', 'id', `${id} is not in this round`)
    return p
  }
  const need = (id: string, set: Set<string>, missed: string): Participant => {
    const p = member(id)
    if (!set.has(id)) throw new SecAggError('dropped', 'id', `${id} ${missed} and left the round`)
    return p
  }
  const neighboursIn = (id: string, set: Set<string>) =>
    member(id).neighbours.filter((n) => set.has(n))
  const dropped = () => [...u2].filter((id) => !u3.has(id))

  function abandon(why: string): void {
    if (stage === 'abandoned') return
    if (stage === 'done') throw stageError('the round is done')
    stage = 'abandoned'
    reason = why
    inbox = new Map()
    sum = null
  }

  /** The first participant of `group` with fewer than t neighbours in `live`, if any. */
  function shortOfHolders(group: Iterable<string>, live: Set<string>, t: number) {
    for (const id of group) {
      const count = neighboursIn(id, live).length
      if (count < t) return `${id} has ${count} of the ${t} neighbours its secrets need`
    }
    return null
  }

  function closeShare(): SecAggStage {
    expect('share', 'closeShare')
    const { threshold } = config!
    for (const [id, p] of participants) if (p.shared) u2.add(id)
    const short = shortOfHolders(u2, u2, threshold)
    if (u2.size < minSurvivors) abandon(`${u2.size} shared, at least ${minSurvivors} needed`)
    else if (short) abandon(`after sharing, ${short}`)
    else {
      stage = 'collect'
      sum = new Uint32Array(length)
    }
    return stage
  }

  function closeCollect(): SecAggStage {
    expect('collect', 'closeCollect')
    const { threshold } = config!
    for (const id of u2) if (participants.get(id)!.collected) u3.add(id)
    const short = shortOfHolders(u2, u3, threshold)
    if (u3.size < minSurvivors)
      abandon(`${u3.size} masked inputs arrived, at least ${minSurvivors} needed`)
    else if (short) abandon(`after collecting, ${short}`)
    // Survivors in separate components would each have a sum the server could unmask alone.
    // On a Harary graph with t above half the degree a split already leaves someone short of
    // holders; this stands behind that in case the graph is ever built otherwise.
    else if (!isConnected(u3, graphOf())) abandon('the survivors’ graph is split')
    // From here on U3 is fixed: a masked input arriving after its sender's mask key has been
    // revealed would be bare, so collect is refused outside this stage.
    else {
      stage = 'unmask'
      inbox = new Map() // every bundle has been fetched or never will be
    }
    return stage
  }

  const graphOf = () => new Map([...participants].map(([id, p]) => [id, p.neighbours]))

  function sharesOf(owner: string, kind: 'self' | 'key'): Uint8Array[] {
    const map = kind === 'self' ? selfShares : keyShares
    let list = map.get(owner)
    if (!list) map.set(owner, (list = []))
    return list
  }

  /** Who still lacks shares, in words; null when ready. */
  function missing(): string | null {
    const t = config?.threshold ?? 0
    const selfShort = [...u3].filter((id) => (selfShares.get(id)?.length ?? 0) < t)
    const keyShort = dropped().filter((id) => (keyShares.get(id)?.length ?? 0) < t)
    if (selfShort.length === 0 && keyShort.length === 0) return null
    return [
      selfShort.length > 0 ? `${selfShort.length} survivors' self-mask seeds` : '',
      keyShort.length > 0 ? `${keyShort.length} dropped participants' mask keys` : '',
    ]
      .filter(Boolean)
      .join(' and ')
      .concat(` have fewer than ${t} shares`)
  }

  async function unmask(): Promise<SecAggResult> {
    const { threshold, length: words, scale } = config!
    const total = sum!
    const publicKeys = new Map<string, CryptoKey>()
    const publicKey = async (id: string) => {
      let key = publicKeys.get(id)
      if (!key) publicKeys.set(id, (key = await importPublicRaw(member(id).maskKey)))
      return key
    }
    // Each survivor's self mask PRG(b_u) comes off.
    await forEachLimit([...u3], EXPANSIONS_IN_FLIGHT, async (id) => {
      const seed = combine(selfShares.get(id)!.slice(0, threshold))
      applyMask(total, await expandMask(seed, words), -1)
    })
    // Each dropped participant's pairwise masks with its surviving neighbours come off: the
    // survivor u added pairSign(u, v)·PRG(s_uv), so subtract exactly that.
    const pairs: { survivor: string; owner: string; key: CryptoKey }[] = []
    for (const owner of dropped()) {
      const d = combine(keyShares.get(owner)!.slice(0, threshold))
      const key = await importPrivateScalar(d, member(owner).maskKey)
      for (const survivor of neighboursIn(owner, u3)) pairs.push({ survivor, owner, key })
    }
    await forEachLimit(pairs, EXPANSIONS_IN_FLIGHT, async ({ survivor, owner, key }) => {
      const seed = await agree(key, await publicKey(survivor))
      applyMask(total, await expandMask(seed, words), pairSign(survivor, owner) === 1 ? -1 : 1)
    })
    const survivors = [...u3].sort()
    return {
      sum: dequantizeSum(total, survivors.length, range, scale),
      count: survivors.length,
      survivors,
    }
  }

  return {
    get stage() {
      return stage
    },
    get config() {
      return config
    },
    get reason() {
      return reason
    },
    get ready() {
      return stage === 'unmask' && missing() === null
    },
    get stats() {
      const bytes: SecAggStats['bytes'] = {}
      for (const [id, p] of participants) bytes[id] = { received: p.received, sent: p.sent }
      const where = (test: (p: Participant) => boolean) =>
        [...participants].filter(([, p]) => test(p)).map(([id]) => id)
      return {
        advertised: [...participants.keys()],
        shared: where((p) => p.shared),
        collected: where((p) => p.collected),
        revealed: where((p) => p.revealed),
        bytes,
      }
    },

    view(id) {
      const view = viewOf(id)
      const p = participants.get(id)
      if (p) p.sent += JSON.stringify(view).length
      return view
    },

    advertise(id, keys) {
      expect('advertise', 'advertise')
      checkId(id)
      if (participants.has(id)) throw new SecAggError('duplicate', 'id', `${id} already advertised`)
      const message = parseMessage(KeysMessageSchema, keys)
      const encryptionKey = fromBase64url(message.encryptionKey, 'encryptionKey')
      const maskKey = fromBase64url(message.maskKey, 'maskKey')
      checkPublicRaw(encryptionKey, 'encryptionKey')
      checkPublicRaw(maskKey, 'maskKey')
      if (message.encryptionKey === message.maskKey)
        throw invalid('maskKey', 'the same key as encryptionKey')
      for (const field of ['encryptionKey', 'maskKey'] as const)
        if (advertisedKeys.has(message[field]))
          throw new SecAggError('duplicate', field, 'a key another participant advertised')
      advertisedKeys.add(message.encryptionKey).add(message.maskKey)
      participants.set(id, {
        keys: message,
        maskKey,
        neighbours: [],
        shared: false,
        collected: false,
        revealed: false,
        received: JSON.stringify(message).length,
        sent: 0,
      })
    },

    closeAdvertise() {
      expect('advertise', 'closeAdvertise')
      const ids = [...participants.keys()].sort()
      const n = ids.length
      const atLeast = Math.max(3, minSurvivors)
      if (n < atLeast) {
        abandon(`${n} participants advertised keys, at least ${atLeast} needed`)
        return stage
      }
      const degree = Math.min(
        options.degree ?? degreeFor(n, { thresholdShare, dropoutRate }),
        n - 1,
      )
      const threshold = thresholdFor(degree, thresholdShare)
      const graph = buildGraph(ids, degree, random)
      for (const [id, neighbours] of graph) participants.get(id)!.neighbours = neighbours
      config = { participants: n, threshold, degree, length, range, scale: scaleFor(n, range) }
      stage = 'share'
      return stage
    },

    share(id, message) {
      expect('share', 'share')
      const p = member(id)
      if (p.shared) throw new SecAggError('duplicate', 'id', `${id} already shared`)
      const { shares } = parseMessage(SharesMessageSchema, message)
      const expected = new Set(p.neighbours)
      const seen = new Set<string>()
      for (const [i, { to, ciphertext }] of shares.entries()) {
        if (!expected.has(to))
          throw new SecAggError(
            'not_neighbour',
            `shares.${i}.to`,
            to === id ? 'a ciphertext to oneself' : `${to} is not a neighbour of ${id}`,
          )
        if (seen.has(to)) throw invalid(`shares.${i}.to`, `a second ciphertext to ${to}`)
        seen.add(to)
        const bytes = fromBase64url(ciphertext, `shares.${i}.ciphertext`)
        if (bytes.length !== SEALED_BUNDLE_BYTES)
          throw invalid(
            `shares.${i}.ciphertext`,
            `${bytes.length} bytes, a sealed bundle has ${SEALED_BUNDLE_BYTES}`,
          )
      }
      const absent = p.neighbours.filter((n) => !seen.has(n))
      if (absent.length > 0)
        throw invalid('shares', `no ciphertext for ${absent.length} neighbours (${absent[0]}, …)`)
      for (const { to, ciphertext } of shares) {
        let list = inbox.get(to)
        if (!list) inbox.set(to, (list = []))
        list.push({ from: id, ciphertext })
      }
      p.shared = true
      p.received += JSON.stringify(message).length
      if ([...participants.values()].every((q) => q.shared)) closeShare()
    },

    closeShare,

    collect(id, masked) {
      expect('collect', 'collect')
      const p = need(id, u2, 'did not share')
      if (p.collected) throw new SecAggError('duplicate', 'id', `${id} already sent its input`)
      if (!(masked instanceof Uint32Array)) throw invalid('masked', 'not a Uint32Array')
      if (masked.length !== length)
        throw invalid('masked', `${masked.length} words, the round sums ${length}`)
      applyMask(sum!, masked, 1)
      p.collected = true
      p.received += masked.byteLength
      if ([...u2].every((q) => participants.get(q)!.collected)) closeCollect()
    },

    closeCollect,

    reveal(id, message) {
      expect('unmask', 'reveal')
      const p = need(id, u3, 'sent no masked input')
      if (p.revealed) throw new SecAggError('duplicate', 'id', `${id} already revealed`)
      const parsed = parseMessage(RevealMessageSchema, message)
      const neighbours = new Set(p.neighbours)
      const keyOf = new Set(parsed.keyShares.map((s) => s.of))
      const accepted: { owner: string; kind: 'self' | 'key'; share: Uint8Array }[] = []
      for (const kind of ['self', 'key'] as const) {
        const list = kind === 'self' ? parsed.selfMaskShares : parsed.keyShares
        const name = kind === 'self' ? 'selfMaskShares' : 'keyShares'
        const seen = new Set<string>()
        for (const [i, { of, share }] of list.entries()) {
          const field = `${name}.${i}`
          if (kind === 'self' && keyOf.has(of))
            throw invalid(`${field}.of`, `both kinds of shares of ${of}: its mask would be bare`)
          if (!neighbours.has(of))
            throw new SecAggError(
              'not_neighbour',
              `${field}.of`,
              `${of} is not a neighbour of ${id}`,
            )
          if (kind === 'self' && !u3.has(of))
            throw invalid(`${field}.of`, `${of} dropped: reveal its mask-key share, not its seed's`)
          if (kind === 'key' && !u2.has(of))
            throw invalid(`${field}.of`, `${of} never shared: it has no mask to remove`)
          if (kind === 'key' && u3.has(of))
            throw invalid(`${field}.of`, `${of} survived: its mask key must stay secret`)
          if (seen.has(of)) throw invalid(`${field}.of`, `a second share of ${of}`)
          seen.add(of)
          const bytes = fromBase64url(share, `${field}.share`)
          if (bytes.length !== SHARE_BYTES)
            throw invalid(`${field}.share`, `${bytes.length} bytes, a share has ${SHARE_BYTES}`)
          if (bytes[0] !== holderX(member(of).neighbours, id))
            throw invalid(`${field}.share`, `x-coordinate ${bytes[0]} is not ${id}'s`)
          accepted.push({ owner: of, kind, share: bytes })
        }
      }
      for (const { owner, kind, share } of accepted) sharesOf(owner, kind).push(share)
      p.revealed = true
      p.received += JSON.stringify(message).length
    },

    async finish() {
      expect('unmask', 'finish')
      const short = missing()
      if (short) {
        abandon(short)
        throw new SecAggError('threshold', 'reveals', short)
      }
      finishing = true
      try {
        const result = await unmask()
        stage = 'done'
        return result
      } catch (error) {
        finishing = false
        abandon(`unmasking failed: ${error instanceof Error ? error.message : String(error)}`)
        throw error
      } finally {
        finishing = false
        sum = null
        inbox = new Map()
      }
    },

    abandon,
  }

  function viewOf(id: string): SecAggView {
    if (stage === 'abandoned') return { stage, waiting: false, reason: reason ?? 'abandoned' }
    if (stage === 'advertise') return { stage, waiting: participants.has(id), retryAfterSeconds }
    const p = member(id)
    if (stage === 'done') return { stage, waiting: false }
    const wait = { stage, waiting: true, retryAfterSeconds } as const
    switch (stage) {
      case 'share':
        if (p.shared) return wait
        return {
          stage,
          waiting: false,
          config: config!,
          neighbours: p.neighbours.map((n) => ({ id: n, ...member(n).keys })),
        }
      case 'collect':
        need(id, u2, 'did not share')
        if (p.collected) return wait
        return { stage, waiting: false, config: config!, ciphertexts: inbox.get(id) ?? [] }
      case 'unmask':
        need(id, u3, 'sent no masked input')
        if (p.revealed || finishing) return wait
        return {
          stage,
          waiting: false,
          survivors: neighboursIn(id, u3),
          dropped: neighboursIn(id, u2).filter((n) => !u3.has(n)),
        }
    }
  }
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length < 1 || id.length > 100)
    throw invalid('id', 'a participant id is a string of 1 to 100 characters')
}

function checkOptions(
  o: Required<Omit<SecAggRoundOptions, 'degree' | 'random'>> & SecAggRoundOptions,
) {
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
}
