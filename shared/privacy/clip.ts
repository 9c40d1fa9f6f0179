import type { NamedTensor } from '../tensors/index.ts'

/**
 * Shrinks the scale a hair below C/‖Δ‖: rounding each scaled value to float32 moves the norm by at
 * most 2⁻²⁴ relative, so the clipped update's norm never exceeds C, the sensitivity the noise and
 * the accountant assume.
 */
const FLOAT32_MARGIN = 1 - 2 ** -22

/** ‖Δ‖₂ over every value of every tensor, summed in float64. NaN or ∞ if any value is. */
export function l2Norm(tensors: readonly NamedTensor[]): number {
  let sum = 0
  for (const t of tensors) {
    const data = t.data
    for (let k = 0; k < data.length; k++) sum += data[k]! * data[k]!
  }
  return Math.sqrt(sum)
}

export interface Clipped {
  tensors: NamedTensor[]
  /** The norm before clipping. */
  norm: number
  /** Whether the update was scaled down. */
  clipped: boolean
}

/**
 * Δ · min(1, C/‖Δ‖) into new arrays; the input is left as it was. A zero update stays zero. A NaN
 * or ∞ anywhere is refused: its norm has no meaning, and it would carry through the noise.
 */
export function clipToNorm(tensors: readonly NamedTensor[], clipNorm: number): Clipped {
  if (!(clipNorm > 0) || !Number.isFinite(clipNorm))
    throw new RangeError(`clipNorm ${clipNorm} is not a finite positive number`)
  const norm = l2Norm(tensors)
  if (!Number.isFinite(norm))
    throw new RangeError(`update has NaN or Infinity values (norm ${norm}): cannot clip it`)
  const clipped = norm > clipNorm
  const scale = clipped ? (clipNorm / norm) * FLOAT32_MARGIN : 1
  return { tensors: scaleTensors(tensors, scale), norm, clipped }
}

/**
 * factor·Δ into new float32 arrays (a copy at factor 1); the input is left as it was, unless
 * `inPlace`, when its arrays are scaled where they are and it is given back. An indexed loop:
 * `Float32Array.map` with a callback is about ten times slower on a model's millions.
 */
export function scaleTensors(
  tensors: readonly NamedTensor[],
  factor: number,
  { inPlace = false }: { inPlace?: boolean } = {},
): NamedTensor[] {
  if (inPlace) {
    for (const { data } of tensors) for (let k = 0; k < data.length; k++) data[k]! *= factor
    return [...tensors]
  }
  return tensors.map((t) => {
    const from = t.data
    const data = new Float32Array(from.length)
    if (factor === 1) data.set(from)
    else for (let k = 0; k < data.length; k++) data[k] = from[k]! * factor
    return { name: t.name, shape: [...t.shape], dtype: t.dtype, data }
  })
}
