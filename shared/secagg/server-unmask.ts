import { SecAggError } from './errors.ts'
import { agree, importPrivateScalar, importPublicRaw } from './keys.ts'
import { EXPANSIONS_IN_FLIGHT, forEachLimit } from './pool.ts'
import { applyMask, expandMask, pairSign } from './prg.ts'
import { dequantizeSum } from './quantize.ts'
import { dequantizeRingSum, maskedBits, maskedWords, reduceRing } from './ring.ts'
import {
  abandon,
  dropped,
  expectStage,
  member,
  missing,
  neighboursIn,
  type RoundState,
} from './server-state.ts'
import { combine } from './shamir.ts'

export interface SecAggResult {
  /**
   * The sum of the survivors' clamped vectors, within quantizationError(count, scale); in a
   * b-bit round, exactly the sum of their quantized vectors (ring.ts's bounds).
   */
  sum: Float64Array
  /** Survivors: participants whose masked input is in the sum. */
  count: number
  survivors: string[]
}

/**
 * unmask → done: rebuilds every survivor's self-mask seed and every dropped participant's mask
 * key from t shares and takes their masks off the sum. Short of shares, or failing, it abandons
 * the round (and throws); while it works, every other call waits or is refused.
 */
export async function finish(s: RoundState): Promise<SecAggResult> {
  expectStage(s, 'unmask', 'finish')
  const short = missing(s)
  if (short) {
    abandon(s, short)
    throw new SecAggError('threshold', 'reveals', short)
  }
  s.finishing = true
  try {
    const result = await unmask(s)
    s.stage = 'done'
    return result
  } catch (error) {
    s.finishing = false
    abandon(s, `unmasking failed: ${error instanceof Error ? error.message : String(error)}`)
    throw error
  } finally {
    s.finishing = false
    s.sum = null
    s.inbox = new Map()
  }
}

/**
 * unmask → done where the sum was unmasked by another process: PostgreSQL replicas replaying a
 * round's log (server/cluster/secure-log.ts) learn that its owner finished it.
 */
export function finished(s: RoundState): void {
  expectStage(s, 'unmask', 'finished')
  s.stage = 'done'
  s.sum = null
  s.inbox = new Map()
}

async function unmask(s: RoundState): Promise<SecAggResult> {
  const { threshold } = s.config!
  const words = maskedWords(s.config!)
  const total = s.sum!
  const publicKeys = new Map<string, CryptoKey>()
  const publicKey = async (id: string) => {
    let key = publicKeys.get(id)
    if (!key) publicKeys.set(id, (key = await importPublicRaw(member(s, id).maskKey)))
    return key
  }
  // Each survivor's self mask PRG(b_u) comes off.
  await forEachLimit([...s.u3], EXPANSIONS_IN_FLIGHT, async (id) => {
    const seed = combine(s.selfShares.get(id)!.slice(0, threshold))
    applyMask(total, await expandMask(seed, words), -1)
  })
  // Each dropped participant's pairwise masks with its surviving neighbours come off: the
  // survivor u added pairSign(u, v)·PRG(s_uv), so subtract exactly that.
  const pairs: { survivor: string; owner: string; key: CryptoKey }[] = []
  for (const owner of dropped(s)) {
    const d = combine(s.keyShares.get(owner)!.slice(0, threshold))
    const key = await importPrivateScalar(d, member(s, owner).maskKey)
    for (const survivor of neighboursIn(s, owner, s.u3)) pairs.push({ survivor, owner, key })
  }
  await forEachLimit(pairs, EXPANSIONS_IN_FLIGHT, async ({ survivor, owner, key }) => {
    const seed = await agree(key, await publicKey(survivor))
    applyMask(total, await expandMask(seed, words), pairSign(survivor, owner) === 1 ? -1 : 1)
  })
  const survivors = [...s.u3].sort()
  return {
    sum: sumOf(s, total, survivors.length),
    count: survivors.length,
    survivors,
  }
}

/** The real sum from the unmasked words: fixed point, or the ring's indices (cut to m bits). */
export function sumOf(s: RoundState, total: Uint32Array, count: number): Float64Array {
  const config = s.config!
  const { bits, seed, range, length, scale } = config
  if (bits === undefined || seed === undefined)
    return dequantizeSum(total, count, s.settings.range, scale)
  return dequantizeRingSum(reduceRing(total, maskedBits(config)), count, length, {
    bits,
    seed,
    range,
  })
}
