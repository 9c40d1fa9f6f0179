// The phone's pick of an upload codec from its network, within what the task accepts: a pure
// policy, fed by `navigator.connection` (NetworkInformation) where the browser has it.
import type { Codec } from '../../shared/tensors/index.ts'
import { acceptedUploads, type CodecPick } from './codec.ts'
import { payloadBytes } from '../../shared/tensors/frames.ts'

/** What NetworkInformation says, as it says it; each field absent where the browser does not. */
export interface NetworkSignals {
  saveData?: boolean
  /** `slow-2g`, `2g`, `3g` or `4g`. */
  effectiveType?: string
  /** `cellular`, `wifi`, `ethernet`, …: cellular is taken as metered. */
  type?: string
}

/** How much an upload should cost this network: as little as possible, some, or no matter. */
export type NetworkNeed = 'smallest' | 'middle' | 'any'

export function networkNeed(network: NetworkSignals | undefined): NetworkNeed {
  if (!network) return 'any'
  const slow = network.effectiveType === '2g' || network.effectiveType === 'slow-2g'
  if (network.saveData === true || slow || network.type === 'cellular') return 'smallest'
  return network.effectiveType === '3g' ? 'middle' : 'any'
}

/** The entries the sizes are measured at: about a CNN's update, where headers no longer count. */
const REFERENCE_ENTRIES = 2 ** 20

/**
 * Bytes an entry costs under `codec`, from the container's own frame sizes for a tensor of
 * 2²⁰ entries (int8 at its default block, top-k at its default 1% kept).
 */
export function bytesPerEntry(codec: Codec): number {
  const k = Math.ceil(REFERENCE_ENTRIES / 100)
  const tensor = { name: 'w', shape: [REFERENCE_ENTRIES], ...(codec === 'topk' ? { k } : {}) }
  return payloadBytes({ codec, tensors: [tensor], blockSize: 256 }) / REFERENCE_ENTRIES
}

/** The accepted codec with the fewest bytes an entry (the first listed of equals). */
export function smallestCodec(accepted: readonly Codec[]): Codec | undefined {
  let best: Codec | undefined
  for (const codec of accepted)
    if (best === undefined || bytesPerEntry(codec) < bytesPerEntry(best)) best = codec
  return best
}

/**
 * The codec to upload in, from the task's accepted list (in its order of preference) and the
 * network: saving data, on 2g or metered, the smallest accepted; on 3g int8 where accepted,
 * else the smallest; on a good or unknown network the task's first. Float32 for an empty list.
 */
export function chooseCodec(accepted: readonly Codec[], network?: NetworkSignals): Codec {
  const need = networkNeed(network)
  const first = accepted[0] ?? 'float32'
  if (need === 'any') return first
  if (need === 'middle' && accepted.includes('int8')) return 'int8'
  return smallestCodec(accepted) ?? first
}

/** A round's codec part for a device that reads its network at each round. */
export const networkCodec =
  (read: () => NetworkSignals | undefined): CodecPick =>
  (assignment) =>
    chooseCodec(acceptedUploads(assignment), read())
