// Layout changes the gradient kernels need, written as plain loops over the wasm heap: TF.js 4.22's
// wasm Transpose walks every element through a generic index computation, 3 to 5 times slower
// than these on the conv gradients' shapes.

type Shape4D = [number, number, number, number]

/**
 * [A, H, W, C] → [C, h, w, A]: the first and last axes swapped, keeping only the top-left h × w
 * pixels (all of them by default).
 */
export function swapFirstAndLastAxes(
  src: Float32Array,
  dst: Float32Array,
  shape: Shape4D,
  keptHeight = shape[1],
  keptWidth = shape[2],
): void {
  const [outer, height, width, channels] = shape
  const kept = keptHeight * keptWidth
  // One pixel at a time: an A×C block read along its rows (C contiguous floats each), written as
  // C×A, so both sides stay within a few cache lines per row.
  for (let y = 0; y < keptHeight; y++) {
    for (let x = 0; x < keptWidth; x++) {
      const p = y * keptWidth + x
      for (let a = 0; a < outer; a++) {
        const from = ((a * height + y) * width + x) * channels
        for (let c = 0; c < channels; c++) dst[(c * kept + p) * outer + a] = src[from + c]!
      }
    }
  }
}

/** [A, H, W, C] → [H, W, A, C]: the first axis moved inside the pixels, C-runs copied whole. */
export function firstAxisInsidePixels(src: Float32Array, dst: Float32Array, shape: Shape4D): void {
  const [outer, height, width, channels] = shape
  const pixels = height * width
  for (let a = 0; a < outer; a++) {
    for (let p = 0; p < pixels; p++) {
      const from = (a * pixels + p) * channels
      dst.set(src.subarray(from, from + channels), (p * outer + a) * channels)
    }
  }
}

/** [N, R, C] → [N, C, R]: each of N row-major matrices transposed, in 32 × 32 tiles. */
export function transposeMatrices(
  src: Float32Array,
  dst: Float32Array,
  count: number,
  rows: number,
  cols: number,
): void {
  const TILE = 32
  for (let n = 0; n < count; n++) {
    const base = n * rows * cols
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      const r1 = Math.min(rows, r0 + TILE)
      for (let c0 = 0; c0 < cols; c0 += TILE) {
        const c1 = Math.min(cols, c0 + TILE)
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) dst[base + c * rows + r] = src[base + r * cols + c]!
        }
      }
    }
  }
}
