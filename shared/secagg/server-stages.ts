import { SEALED_BUNDLE_BYTES, SHARE_BYTES } from './constants.ts'
import { invalid, parseMessage, SecAggError } from './errors.ts'
import { buildGraph, degreeFor, holderX, isConnected, thresholdFor } from './graph.ts'
import { checkPublicRaw } from './keys.ts'
import {
  type KeysMessage,
  KeysMessageSchema,
  type RevealMessage,
  RevealMessageSchema,
  type SecAggStage,
  type SharesMessage,
  SharesMessageSchema,
} from './messages.ts'
import { applyMask } from './prg.ts'
import { scaleFor } from './quantize.ts'
import { maskedBits, maskedWords } from './ring.ts'
import {
  abandon,
  expectStage,
  graphOf,
  member,
  need,
  type Participant,
  type RoundState,
  shortOfHolders,
} from './server-state.ts'
import { fromBase64url } from './wire.ts'

// One function per call of a SecAgg+ round, each over the round's one state: the calls a
// participant makes within a stage, and the transitions that close it (see server.ts).

/** advertise: a participant posts its two public keys. */
export function advertise(s: RoundState, id: string, keys: KeysMessage): void {
  expectStage(s, 'advertise', 'advertise')
  checkId(id)
  if (s.participants.has(id)) throw new SecAggError('duplicate', 'id', `${id} already advertised`)
  const message = parseMessage(KeysMessageSchema, keys)
  const encryptionKey = fromBase64url(message.encryptionKey, 'encryptionKey')
  const maskKey = fromBase64url(message.maskKey, 'maskKey')
  checkPublicRaw(encryptionKey, 'encryptionKey')
  checkPublicRaw(maskKey, 'maskKey')
  if (message.encryptionKey === message.maskKey)
    throw invalid('maskKey', 'the same key as encryptionKey')
  for (const field of ['encryptionKey', 'maskKey'] as const)
    if (s.advertisedKeys.has(message[field]))
      throw new SecAggError('duplicate', field, 'a key another participant advertised')
  s.advertisedKeys.add(message.encryptionKey).add(message.maskKey)
  s.participants.set(id, {
    keys: message,
    maskKey,
    neighbours: [],
    shared: false,
    collected: false,
    revealed: false,
    received: JSON.stringify(message).length,
    sent: 0,
  })
}

/** advertise → share: fixes U1, the graph and the config (or abandons, too few advertised). */
export function closeAdvertise(s: RoundState): SecAggStage {
  expectStage(s, 'advertise', 'closeAdvertise')
  const { length, range, minSurvivors, thresholdShare, dropoutRate, random, bits } = s.settings
  const ids = [...s.participants.keys()].sort()
  const n = ids.length
  const atLeast = Math.max(3, minSurvivors)
  if (n < atLeast) {
    abandon(s, `${n} participants advertised keys, at least ${atLeast} needed`)
    return s.stage
  }
  const degree = Math.min(s.settings.degree ?? degreeFor(n, { thresholdShare, dropoutRate }), n - 1)
  const threshold = thresholdFor(degree, thresholdShare)
  const graph = buildGraph(ids, degree, random)
  for (const [id, neighbours] of graph) s.participants.get(id)!.neighbours = neighbours
  s.config = { participants: n, threshold, degree, length, range, scale: scaleFor(n, range) }
  // A b-bit round's rotation: one seed, fixed with the rest, so every participant rotates alike.
  if (bits !== undefined)
    Object.assign(s.config, { bits, seed: Math.floor(random() * 2 ** 32) >>> 0 })
  s.stage = 'share'
  return s.stage
}

/** share: a participant posts one sealed bundle of shares per neighbour. */
export function share(s: RoundState, id: string, message: SharesMessage): void {
  expectStage(s, 'share', 'share')
  const p = member(s, id)
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
    let list = s.inbox.get(to)
    if (!list) s.inbox.set(to, (list = []))
    list.push({ from: id, ciphertext })
  }
  p.shared = true
  p.received += JSON.stringify(message).length
  if ([...s.participants.values()].every((q) => q.shared)) closeShare(s)
}

/** share → collect: fixes U2 (or abandons: too few shared, or one short of holders). */
export function closeShare(s: RoundState): SecAggStage {
  expectStage(s, 'share', 'closeShare')
  const { minSurvivors } = s.settings
  for (const [id, p] of s.participants) if (p.shared) s.u2.add(id)
  const short = shortOfHolders(s, s.u2, s.u2)
  if (s.u2.size < minSurvivors) abandon(s, `${s.u2.size} shared, at least ${minSurvivors} needed`)
  else if (short) abandon(s, `after sharing, ${short}`)
  else {
    s.stage = 'collect'
    s.sum = new Uint32Array(maskedWords(s.config!))
  }
  return s.stage
}

/** collect: a participant of U2 posts its masked input, added to the sum. */
export function collect(s: RoundState, id: string, masked: Uint32Array): void {
  const p = admitMasked(s, id)
  if (!(masked instanceof Uint32Array)) throw invalid('masked', 'not a Uint32Array')
  checkWords(s, masked.length)
  applyMask(s.sum!, masked, 1)
  countMasked(s, p, wireBytes(s, masked.length))
}

/**
 * collect without the vector: participant `id`'s masked input of `words` words is in, summed
 * elsewhere (on PostgreSQL replicas, in the partial sum of the replica that took it). The same
 * checks and the same move to unmask once all of U2 is in.
 */
export function collected(s: RoundState, id: string, words: number): void {
  const p = admitMasked(s, id)
  checkWords(s, words)
  countMasked(s, p, wireBytes(s, words))
}

function admitMasked(s: RoundState, id: string): Participant {
  expectStage(s, 'collect', 'collect')
  const p = need(s, id, s.u2, 'did not share')
  if (p.collected) throw new SecAggError('duplicate', 'id', `${id} already sent its input`)
  return p
}

function checkWords(s: RoundState, words: number) {
  const length = maskedWords(s.config!)
  if (words !== length) throw invalid('masked', `${words} words, the round sums ${length}`)
}

/** What `words` masked words take on the wire: 4 bytes each, or m bits in a b-bit round. */
const wireBytes = (s: RoundState, words: number) => Math.ceil((words * maskedBits(s.config!)) / 8)

function countMasked(s: RoundState, p: Participant, bytes: number) {
  p.collected = true
  p.received += bytes
  if ([...s.u2].every((q) => s.participants.get(q)!.collected)) closeCollect(s)
}

/** collect → unmask: fixes U3 (or abandons: too few inputs, one short of holders, a split). */
export function closeCollect(s: RoundState): SecAggStage {
  expectStage(s, 'collect', 'closeCollect')
  const { minSurvivors } = s.settings
  for (const id of s.u2) if (s.participants.get(id)!.collected) s.u3.add(id)
  const short = shortOfHolders(s, s.u2, s.u3)
  if (s.u3.size < minSurvivors)
    abandon(s, `${s.u3.size} masked inputs arrived, at least ${minSurvivors} needed`)
  else if (short) abandon(s, `after collecting, ${short}`)
  // Survivors in separate components would each have a sum the server could unmask alone.
  // On a Harary graph with t above half the degree a split already leaves someone short of
  // holders; this stands behind that in case the graph is ever built otherwise.
  else if (!isConnected(s.u3, graphOf(s))) abandon(s, 'the survivors’ graph is split')
  // From here on U3 is fixed: a masked input arriving after its sender's mask key has been
  // revealed would be bare, so collect is refused outside this stage.
  else {
    s.stage = 'unmask'
    s.inbox = new Map() // every bundle has been fetched or never will be
  }
  return s.stage
}

/**
 * unmask: a survivor reveals its shares of its surviving neighbours' self-mask seeds and of its
 * dropped neighbours' mask keys, never both of one neighbour. All are checked before any counts.
 */
export function reveal(s: RoundState, id: string, message: RevealMessage): void {
  expectStage(s, 'unmask', 'reveal')
  const p = need(s, id, s.u3, 'sent no masked input')
  if (p.revealed) throw new SecAggError('duplicate', 'id', `${id} already revealed`)
  const parsed = parseMessage(RevealMessageSchema, message)
  const neighbours = new Set(p.neighbours)
  const keyOf = new Set(parsed.keyShares.map((share) => share.of))
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
        throw new SecAggError('not_neighbour', `${field}.of`, `${of} is not a neighbour of ${id}`)
      if (kind === 'self' && !s.u3.has(of))
        throw invalid(`${field}.of`, `${of} dropped: reveal its mask-key share, not its seed's`)
      if (kind === 'key' && !s.u2.has(of))
        throw invalid(`${field}.of`, `${of} never shared: it has no mask to remove`)
      if (kind === 'key' && s.u3.has(of))
        throw invalid(`${field}.of`, `${of} survived: its mask key must stay secret`)
      if (seen.has(of)) throw invalid(`${field}.of`, `a second share of ${of}`)
      seen.add(of)
      const bytes = fromBase64url(share, `${field}.share`)
      if (bytes.length !== SHARE_BYTES)
        throw invalid(`${field}.share`, `${bytes.length} bytes, a share has ${SHARE_BYTES}`)
      if (bytes[0] !== holderX(member(s, of).neighbours, id))
        throw invalid(`${field}.share`, `x-coordinate ${bytes[0]} is not ${id}'s`)
      accepted.push({ owner: of, kind, share: bytes })
    }
  }
  for (const { owner, kind, share } of accepted) sharesOf(s, owner, kind).push(share)
  p.revealed = true
  p.received += JSON.stringify(message).length
}

function sharesOf(s: RoundState, owner: string, kind: 'self' | 'key'): Uint8Array[] {
  const map = kind === 'self' ? s.selfShares : s.keyShares
  let list = map.get(owner)
  if (!list) map.set(owner, (list = []))
  return list
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length < 1 || id.length > 100)
    throw invalid('id', 'a participant id is a string of 1 to 100 characters')
}
