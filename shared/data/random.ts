/** A seeded PRNG: returns floats in [0, 1). Small, fast, and the same in every JS engine. */
export type Random = () => number

/** mulberry32: a 32-bit-state generator, good enough for shuffling and sampling (not crypto). */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A uniform integer in [0, n). */
export const randomInt = (random: Random, n: number): number => Math.floor(random() * n)

/** Fisher-Yates shuffle, in place; returns its argument. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(
  array: T,
  random: Random,
): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1)
    const tmp = array[i]
    array[i] = array[j]
    array[j] = tmp
  }
  return array
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, random: Random): Uint32Array {
  const out = new Uint32Array(n)
  for (let i = 0; i < n; i++) out[i] = i
  return shuffleInPlace(out, random)
}

/** A fresh 32-bit seed from Math.random, for callers that did not pass one. */
export const randomSeed = (): number => Math.floor(Math.random() * 4294967296) >>> 0
