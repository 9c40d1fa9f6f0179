/**
 * A model as it may be downloaded (issue 18), besides its own float32 container:
 * - float16: the model's container under the float16 codec, metadata `{ encoding: 'float16',
 *   model }`. Deterministic (round to nearest even), 2 bytes an entry.
 * - delta: model N as N − B under the int8 codec, metadata `{ encoding: 'delta', model, base,
 *   baseEncoding }`, where B is a model the phone holds *whole*: model `base` as float32, or as its
 *   float16 container decoded (`baseEncoding`). About 1.02 bytes an entry. The rounding is
 *   seeded from the two hashes, so the same pair always gives the same bytes (caches, ETags).
 *   Error: |B + decode(δ) − N| < max |N − B| over the entry's block of 256 / 127 (one int8 step,
 *   `codecs/int8.ts`), plus float32 rounding (a few ulps of |N|). A phone keeps B as its base and
 *   never a reconstruction, so the error never compounds past this one step.
 * Both are containers: a phone reads what it got from the bytes, whatever the server answered.
 */
import { decodeContainer, encodeContainer } from './container.ts'
import type { NamedTensor } from './named-tensor.ts'

/** What a phone holds whole and may ask a delta from: a model, as float32 or float16. */
export interface ModelBase {
  hash: string
  encoding: 'float32' | 'float16'
}

/** The int8 seed of a delta: from both hashes, a uint32. */
export const deltaSeed = (model: string, base: string): number =>
  (parseInt(model.slice(0, 8), 16) ^ parseInt(base.slice(0, 8), 16)) >>> 0

/** Whether two models have the same tensors, by name and shape, in the same order. */
export function sameLayout(a: readonly NamedTensor[], b: readonly NamedTensor[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (t, i) =>
        t.name === b[i]!.name &&
        t.shape.length === b[i]!.shape.length &&
        t.shape.every((d, j) => d === b[i]!.shape[j]),
    )
  )
}

/** Model `hash` as a float16 container; a weight past a half's range is a ContainerError. */
export function encodeFloat16Model(model: readonly NamedTensor[], hash: string): Uint8Array {
  return encodeContainer({
    tensors: model,
    codec: 'float16',
    metadata: { encoding: 'float16', model: hash },
  })
}

/** What a base's bytes decode to: the weights the phone holds (float32 or halves, as float32). */
export const baseWeights = (base: readonly NamedTensor[], encoding: ModelBase['encoding']) =>
  encoding === 'float16' ? decodeContainer(encodeFloat16Model(base, '')).tensors : base

/**
 * Model `hash` (weights `model`) as an int8 delta from `base` (the weights the phone holds, as
 * `baseWeights` gives them); the layouts must match (`sameLayout`).
 */
export function encodeDeltaModel(
  { model, hash }: { model: readonly NamedTensor[]; hash: string },
  base: { weights: readonly NamedTensor[]; ref: ModelBase },
): Uint8Array {
  if (!sameLayout(model, base.weights)) throw new RangeError('base: not the model’s layout')
  const delta = model.map((t, i) => {
    const from = base.weights[i]!.data
    return { ...t, data: t.data.map((v, k) => v - from[k]!) }
  })
  return encodeContainer({
    tensors: delta,
    codec: 'int8',
    seed: deltaSeed(hash, base.ref.hash),
    metadata: {
      encoding: 'delta',
      model: hash,
      base: base.ref.hash,
      baseEncoding: base.ref.encoding,
    },
  })
}

/** A download that is not what was asked for, or does not fit what the phone holds. */
export class DownloadMismatchError extends Error {
  override name = 'DownloadMismatchError'
}

/**
 * The weights of model `hash` from a float16 or delta download (float32 is checked by its hash,
 * not here): its metadata must name that model, a delta's also the base held, and the layouts
 * match. Answers a fresh array per tensor.
 */
export function applyDownload(
  bytes: Uint8Array,
  hash: string,
  base?: { weights: readonly NamedTensor[]; ref: ModelBase },
): { encoding: 'float16' | 'delta'; weights: NamedTensor[] } {
  const { codec, tensors, metadata } = decodeContainer(bytes)
  const fail = (why: string): never => {
    throw new DownloadMismatchError(`model ${hash}: ${why}`)
  }
  if (metadata.model !== hash) fail(`the download names model ${String(metadata.model)}`)
  if (metadata.encoding === 'float16' && codec === 'float16')
    return { encoding: 'float16', weights: tensors.map((t) => ({ ...t, data: t.data.slice() })) }
  if (metadata.encoding !== 'delta' || codec !== 'int8')
    return fail(`a ${codec} download of encoding ${String(metadata.encoding)}`)
  if (!base || metadata.base !== base.ref.hash || metadata.baseEncoding !== base.ref.encoding)
    return fail(`a delta from ${String(metadata.base)} (${String(metadata.baseEncoding)})`)
  if (!sameLayout(tensors, base.weights)) return fail('a delta of another layout than its base')
  const weights = tensors.map((t, i) => {
    const from = base.weights[i]!.data
    return { ...t, data: t.data.map((d, k) => from[k]! + d) }
  })
  return { encoding: 'delta', weights }
}
