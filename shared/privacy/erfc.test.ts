import { describe, expect, it } from 'vitest'
import { erfc, logErfc } from './erfc.ts'

const relative = (actual: number, expected: number) => Math.abs(actual / expected - 1)

// Expected values: mpmath 1.3 `erfc` and `log(erfc(x))` at 40 digits, rounded to the nearest double.
describe('erfc', () => {
  it('matches high-precision values across the line', () => {
    const cases: [number, number][] = [
      [-1, 1.8427007929497148],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [1.99, 0.004888586800383003], // 1 − erf cancels most here
      [5, 1.537459794428035e-12],
      [10, 2.088487583762545e-45],
      [26, 5.663192408856143e-296],
    ]
    for (const [x, expected] of cases)
      expect(relative(erfc(x), expected), `x = ${x}`).toBeLessThan(1e-13)
    expect(erfc(0)).toBe(1)
    expect(erfc(Infinity)).toBe(0)
    expect(erfc(-Infinity)).toBe(2)
  })

  it('logErfc stays finite far past where erfc underflows', () => {
    const cases: [number, number][] = [
      [30, -903.9741171106439],
      [100, -10005.177585122665],
      [1e5, -10000000012.08529],
    ]
    for (const [x, expected] of cases) {
      expect(erfc(x)).toBe(0)
      expect(relative(logErfc(x), expected), `x = ${x}`).toBeLessThan(1e-14)
    }
    expect(logErfc(-40)).toBeCloseTo(Math.log(2), 15)
    expect(logErfc(0)).toBe(0)
    expect(logErfc(Infinity)).toBe(-Infinity)
    expect(logErfc(NaN)).toBeNaN()
  })
})
