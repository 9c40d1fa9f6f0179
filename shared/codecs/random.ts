// The seeded PRNG the codecs draw from: shared/data's mulberry32 (the same in every JS engine,
// 32 bits of state, not crypto: a codec's randomness only has to be unbiased, not secret),
// behind a check that the seed is one a frame can carry (a uint32).
import { mulberry32, type Random } from '../data/random.ts'
import { checkSeed } from './limits.ts'

export type { Random }

/** A generator of uniforms in [0, 1) from a uint32 seed; any other seed is refused. */
export function seededUniform(seed: number, parameter = 'seed'): Random {
  checkSeed(seed, parameter)
  return mulberry32(seed)
}
