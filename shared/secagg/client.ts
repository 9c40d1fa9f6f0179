import { BUNDLE_BYTES, MAX_HOLDERS, SECRET_BYTES, SHARE_BYTES } from './constants.ts'
import { invalid, SecAggError, stageError } from './errors.ts'
import {
  exportPrivateScalar,
  exportPublicRaw,
  generateKeyPair,
  importPublicRaw,
  agree,
} from './keys.ts'
import type {
  KeysMessage,
  RevealMessage,
  SecAggConfig,
  SecAggView,
  SharesMessage,
} from './messages.ts'
import { EXPANSIONS_IN_FLIGHT, forEachLimit } from './pool.ts'
import { applyMask, expandMask, pairSign } from './prg.ts'
import { quantize } from './quantize.ts'
import { maskedBits, maskedWords, quantizeRing, type RingInput } from './ring.ts'
import { open, seal, sealKey } from './seal.ts'
import { split } from './shamir.ts'
import { fromBase64url, toBase64url } from './wire.ts'

export type ShareView = Extract<SecAggView, { stage: 'share'; waiting: false }>
export type CollectView = Extract<SecAggView, { stage: 'collect'; waiting: false }>
export type UnmaskView = Extract<SecAggView, { stage: 'unmask'; waiting: false }>

/** Where a participant is: each call moves it one step, in this order only. */
export const SECAGG_CLIENT_STAGES = [
  'created',
  'advertised',
  'shared',
  'masked',
  'revealed',
] as const
export type SecAggClientStage = (typeof SECAGG_CLIENT_STAGES)[number]

/**
 * A participant's side of one SecAgg+ round, for one round only (its keys and seed are fresh).
 * Like Flower's secaggplus_mod, it checks what the server sends before acting on it: a call out
 * of order is a 409 'stage'; a view that would make it leak (a threshold at or below half its
 * neighbours, too few live neighbours, both kinds of shares asked for one neighbour) is refused.
 */
export interface SecAggClient {
  readonly id: string
  readonly stage: SecAggClientStage
  /** advertise: the two public keys. Repeatable until share (a retry sends the same keys). */
  keys(): KeysMessage
  /** share: shares of b and of the mask key, one sealed bundle per neighbour. */
  share(view: ShareView): Promise<SharesMessage>
  /** collect: opens the bundles received, and masks `values` (length = config.length). */
  mask(view: CollectView, values: ArrayLike<number>): Promise<Uint32Array>
  /** unmask: self-mask shares of surviving neighbours, mask-key shares of dropped ones. */
  reveal(view: UnmaskView): RevealMessage
  /** b-bit rounds: the level indices mask quantized (before masking), and the entries clamped. */
  readonly input: RingInput | null
}

/** Everything one participant knows of its round: the state each step reads and moves on. */
interface ClientState {
  readonly id: string
  readonly keys: KeysMessage
  readonly encryption: CryptoKeyPair
  readonly masking: CryptoKeyPair
  /** b: the self-mask seed, so the pairwise masks of a participant who is late can be told apart. */
  readonly seed: Uint8Array
  stage: SecAggClientStage
  /** A step is running: any other call is refused until it ends. */
  busy: boolean
  /** Fixed at share: mask checks the collect view's against it. */
  config: SecAggConfig | null
  /** Per neighbour: the key bundles to and from it are sealed with, and its mask key. */
  neighbours: Map<string, { sealKey: CryptoKey; maskKey: CryptoKey }>
  /** The shares neighbours in U2 gave this participant. */
  held: Map<string, { selfMaskShare: Uint8Array; keyShare: Uint8Array }>
  input: RingInput | null
  /** Stochastic rounding's coin (b-bit rounds). */
  readonly random: () => number
}

export async function createSecAggClient(
  id: string,
  { random = Math.random }: { random?: () => number } = {},
): Promise<SecAggClient> {
  const [encryption, masking] = await Promise.all([generateKeyPair(), generateKeyPair()])
  const [encryptionRaw, maskRaw] = await Promise.all([
    exportPublicRaw(encryption.publicKey),
    exportPublicRaw(masking.publicKey),
  ])
  const s: ClientState = {
    id,
    keys: { encryptionKey: toBase64url(encryptionRaw), maskKey: toBase64url(maskRaw) },
    encryption,
    masking,
    seed: crypto.getRandomValues(new Uint8Array(SECRET_BYTES)),
    stage: 'created',
    busy: false,
    config: null,
    neighbours: new Map(),
    held: new Map(),
    input: null,
    random,
  }
  return {
    id,
    get stage() {
      return s.stage
    },
    get input() {
      return s.input
    },
    keys() {
      if (s.busy || (s.stage !== 'created' && s.stage !== 'advertised'))
        throw stageError(`keys belongs to advertising; the client is ${s.stage}`)
      s.stage = 'advertised'
      return { ...s.keys }
    },
    share: (view) => step(s, 'advertised', 'shared', 'share', () => shareSecrets(s, view)),
    mask: (view, values) => step(s, 'shared', 'masked', 'mask', () => maskInput(s, view, values)),
    reveal(view) {
      if (s.busy || s.stage !== 'masked')
        throw stageError(`reveal comes after masked; the client is ${s.stage}`)
      const message = revealShares(s, view)
      s.stage = 'revealed'
      s.held = new Map()
      return message
    },
  }
}

/** Runs one step if the client is at `from`; moves it to `to` only if the step succeeds. */
async function step<T>(
  s: ClientState,
  from: SecAggClientStage,
  to: SecAggClientStage,
  call: string,
  run: () => Promise<T>,
): Promise<T> {
  if (s.busy) throw stageError(`${call} while another call is running`)
  if (s.stage !== from) throw stageError(`${call} comes after ${from}; the client is ${s.stage}`)
  s.busy = true
  try {
    const result = await run()
    s.stage = to
    return result
  } finally {
    s.busy = false
  }
}

function checkView(view: SecAggView, wanted: SecAggView['stage'], call: string): void {
  if (view.stage !== wanted || view.waiting)
    throw stageError(
      `${call} needs a ${wanted} view, got ${view.stage}${view.waiting ? ' (waiting)' : ''}`,
    )
}

/** share: Shamir-shares b and the mask key among the neighbours, one sealed bundle each. */
async function shareSecrets(s: ClientState, view: ShareView): Promise<SharesMessage> {
  checkView(view, 'share', 'share')
  checkConfig(view.config, view.neighbours.length)
  const list = [...view.neighbours].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const seen = new Set([s.keys.encryptionKey, s.keys.maskKey])
  for (const [i, n] of list.entries()) {
    if (n.id === s.id) throw invalid(`neighbours.${i}.id`, 'a participant is not its own neighbour')
    for (const field of ['encryptionKey', 'maskKey'] as const) {
      if (seen.has(n[field])) throw invalid(`neighbours.${i}.${field}`, 'a key seen before')
      seen.add(n[field])
    }
  }
  const ids = new Set(list.map((n) => n.id))
  if (ids.size !== list.length) throw invalid('neighbours', 'a neighbour twice')

  const { threshold } = view.config
  const xs = list.map((_, i) => i + 1)
  const selfMaskShares = split(s.seed, threshold, xs)
  const keyShares = split(await exportPrivateScalar(s.masking.privateKey), threshold, xs)
  const known = new Map<string, { sealKey: CryptoKey; maskKey: CryptoKey }>()
  const shares: SharesMessage['shares'] = []
  await forEachLimit(list, EXPANSIONS_IN_FLIGHT, async (n, i) => {
    const [encryptionKey, maskKey] = await Promise.all([
      importPublicRaw(
        fromBase64url(n.encryptionKey, `neighbours.${i}.encryptionKey`),
        `neighbours.${i}.encryptionKey`,
      ),
      importPublicRaw(
        fromBase64url(n.maskKey, `neighbours.${i}.maskKey`),
        `neighbours.${i}.maskKey`,
      ),
    ])
    const key = await sealKey(s.encryption.privateKey, encryptionKey)
    known.set(n.id, { sealKey: key, maskKey })
    const bundle = new Uint8Array(BUNDLE_BYTES)
    bundle.set(selfMaskShares[i]!, 0)
    bundle.set(keyShares[i]!, SHARE_BYTES)
    const sealed = await seal(key, bundle, { from: s.id, to: n.id })
    shares[i] = { to: n.id, ciphertext: toBase64url(sealed) }
  })
  s.config = { ...view.config }
  s.neighbours = known
  return { shares }
}

/** collect: opens the bundles received, then masks `values` with b and the pairwise masks. */
async function maskInput(
  s: ClientState,
  view: CollectView,
  values: ArrayLike<number>,
): Promise<Uint32Array> {
  checkView(view, 'collect', 'mask')
  const agreed = s.config!
  const fields = new Set([...Object.keys(agreed), ...Object.keys(view.config)])
  for (const field of fields as Set<keyof SecAggConfig>)
    if (view.config[field] !== agreed[field])
      throw invalid(`config.${field}`, 'changed since the share stage')
  if (values.length !== agreed.length)
    throw invalid('values', `${values.length} values, the round sums ${agreed.length}`)

  // Open every bundle first: a bad one refuses the whole view before anything is masked.
  const froms = new Set<string>()
  const sealed = view.ciphertexts.map(({ from, ciphertext }, i) => {
    if (!s.neighbours.has(from))
      throw new SecAggError('not_neighbour', `ciphertexts.${i}.from`, `${from} is not a neighbour`)
    if (froms.has(from)) throw invalid(`ciphertexts.${i}.from`, `a second bundle from ${from}`)
    froms.add(from)
    return { from, bytes: fromBase64url(ciphertext, `ciphertexts.${i}.ciphertext`) }
  })
  const received = new Map<string, { selfMaskShare: Uint8Array; keyShare: Uint8Array }>()
  await forEachLimit(sealed, EXPANSIONS_IN_FLIGHT, async ({ from, bytes }, i) => {
    const field = `ciphertexts.${i}.ciphertext`
    const key = s.neighbours.get(from)!.sealKey
    const bundle = await open(key, bytes, { from, to: s.id }, field)
    if (bundle.length !== BUNDLE_BYTES) throw invalid(field, `a bundle of ${bundle.length} bytes`)
    const selfMaskShare = bundle.slice(0, SHARE_BYTES)
    const keyShare = bundle.slice(SHARE_BYTES)
    if (selfMaskShare[0] === 0 || selfMaskShare[0] !== keyShare[0])
      throw invalid(field, 'shares with a bad x-coordinate')
    received.set(from, { selfMaskShare, keyShare })
  })
  // With fewer than t neighbours left, this participant's secrets could not be rebuilt,
  // and with none its input would be masked by b alone: stop before masking.
  if (received.size < agreed.threshold)
    throw new SecAggError(
      'threshold',
      'ciphertexts',
      `${received.size} neighbours shared, ${agreed.threshold} needed`,
    )

  // b-bit rounds mask small level indices; the masks are taken modulo 2^32 and the words cut
  // to their low bits on the wire, which is the same sum in the smaller ring.
  const { bits, seed } = agreed
  const input =
    bits !== undefined && seed !== undefined
      ? quantizeRing(values, { bits, seed, range: agreed.range }, s.random)
      : null
  const masked = input ? input.indices.slice() : quantize(values, agreed.range, agreed.scale)
  const words = maskedWords(agreed)
  applyMask(masked, await expandMask(s.seed, words), 1)
  await forEachLimit([...received.keys()], EXPANSIONS_IN_FLIGHT, async (other) => {
    const secret = await agree(s.masking.privateKey, s.neighbours.get(other)!.maskKey)
    applyMask(masked, await expandMask(secret, words), pairSign(s.id, other))
  })
  s.held = received
  s.input = input
  const m = maskedBits(agreed)
  return m < 32 ? masked.map((w) => w & (2 ** m - 1)) : masked
}

/** unmask: self-mask shares of surviving neighbours, mask-key shares of dropped ones. */
function revealShares(s: ClientState, view: UnmaskView): RevealMessage {
  checkView(view, 'unmask', 'reveal')
  const named = new Set<string>()
  for (const [name, list] of [
    ['survivors', view.survivors],
    ['dropped', view.dropped],
  ] as const)
    for (const [i, other] of list.entries()) {
      const field = `${name}.${i}`
      if (other === s.id) throw invalid(field, 'this participant itself')
      if (named.has(other))
        throw invalid(field, `${other} twice: never both kinds of shares for one participant`)
      named.add(other)
      if (!s.held.has(other)) throw invalid(field, `no share of ${other} is held here`)
    }
  // This participant survived, so its own secrets need t holders among the survivors.
  const { threshold } = s.config!
  if (view.survivors.length < threshold)
    throw new SecAggError(
      'threshold',
      'survivors',
      `${view.survivors.length} surviving neighbours, ${threshold} needed`,
    )
  return {
    selfMaskShares: view.survivors.map((of) => ({
      of,
      share: toBase64url(s.held.get(of)!.selfMaskShare),
    })),
    keyShares: view.dropped.map((of) => ({ of, share: toBase64url(s.held.get(of)!.keyShare) })),
  }
}

/** Refuses a config that would let the server rebuild secrets from too few shares. */
function checkConfig(config: SecAggConfig, neighbourCount: number): void {
  const { threshold, degree, length, range, scale, participants } = config
  if (neighbourCount !== degree)
    throw invalid('neighbours', `${neighbourCount} neighbours, the config says ${degree}`)
  if (neighbourCount > MAX_HOLDERS) throw invalid('neighbours', `more than ${MAX_HOLDERS}`)
  if (!Number.isInteger(threshold) || threshold < 2 || 2 * threshold <= neighbourCount)
    throw invalid(
      'config.threshold',
      `${threshold} must be at least 2 and above half the neighbours`,
    )
  if (threshold > neighbourCount)
    throw invalid('config.threshold', `${threshold} is more than the ${neighbourCount} neighbours`)
  if (!Number.isInteger(length) || length < 1) throw invalid('config.length', 'not a whole number')
  if (!(range > 0) || !Number.isFinite(range)) throw invalid('config.range', 'not positive')
  if (!Number.isInteger(scale) || scale < 1) throw invalid('config.scale', 'not a whole number')
  if (config.bits !== undefined || config.seed !== undefined) {
    if (!Number.isInteger(config.bits) || config.bits! < 1 || config.bits! > 4)
      throw invalid('config.bits', 'must be a whole number from 1 to 4')
    if (!Number.isInteger(config.seed) || config.seed! < 0 || config.seed! > 2 ** 32 - 1)
      throw invalid('config.seed', 'must be a uint32')
    return
  }
  // Otherwise the sum could wrap modulo 2^32 and come back wrong.
  if (participants * 2 * range * scale > 2 ** 32 - 1 && scale > 1)
    throw invalid('config.scale', 'too large: the sum could wrap')
}
