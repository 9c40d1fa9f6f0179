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
  const out = tensors.map((t) => {
    const data = new Float32Array(t.data.length)
    if (scale === 1) data.set(t.data)
    else for (let k = 0; k < data.length; k++) data[k] = t.data[k]! * scale
    return { name: t.name, shape: [...t.shape], dtype: t.dtype, data }
  })
  return { tensors: out, norm, clipped }
}
