/**
 * Six reports of four values, and what numpy 2.4 (`np.median(a, axis=0)`, which Flower's
 * aggregate_median calls) and scipy 1.17 (`trim_mean(a, p, axis=0)`, which Flower's _trim_mean
 * follows) make of them, for the robust rules' tests.
 */
export const SIX = [
  [0.5, -1.25, 3, 7],
  [2, 0.75, -4, 1],
  [-3.5, 2, 0.5, 6],
  [1, 1, 1, 1],
  [8, -6, 2.5, -2],
  [0, 0.25, -1, 4],
].map((row) => new Float32Array(row))

export const NUMPY = {
  median6: [0.75, 0.5, 0.75, 2.5],
  median5: [1, 0.75, 1, 1],
  trim6at02: [0.875, 0.1875, 0.75, 3],
  trim6at034: [0.75, 0.5, 0.75, 2.5],
  trim5at02: [1.1666666269302368, 0.1666666716337204, 1.3333333730697632, 2.6666667461395264],
}
