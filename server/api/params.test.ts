import { describe, expect, it } from 'vitest'
import { PollenError } from '../errors.ts'
import { canonicalInteger, MAX_ROUND } from './params.ts'

describe('canonicalInteger', () => {
  it('takes digits written once, one way', () => {
    expect(canonicalInteger('1', 'round')).toBe(1)
    expect(canonicalInteger('42', 'round')).toBe(42)
    expect(canonicalInteger('0', 'lastEventId', 0)).toBe(0)
    expect(canonicalInteger('9007199254740991', 'round')).toBe(Number.MAX_SAFE_INTEGER)
  })

  it.each([
    '1e0',
    '01',
    '00',
    '+1',
    '-1',
    '1.0',
    '1.',
    '0x1',
    '0b1',
    ' 1',
    '1 ',
    '١',
    '',
    'Infinity',
    '9007199254740993',
    '12345678901234567',
  ])('refuses %j, naming the field', (text) => {
    const refused = (() => {
      try {
        canonicalInteger(text, 'round')
      } catch (error) {
        return error
      }
    })() as PollenError
    expect(refused).toBeInstanceOf(PollenError)
    expect(refused).toMatchObject({ status: 400, field: 'round' })
    expect(refused.message).toContain('round must be an integer from 1 to')
  })

  it('refuses what is under the minimum, and nothing at all', () => {
    expect(() => canonicalInteger('0', 'round')).toThrow(/from 1 to/)
    expect(canonicalInteger(String(MAX_ROUND), 'round', 1, MAX_ROUND)).toBe(MAX_ROUND)
    expect(() => canonicalInteger(String(MAX_ROUND + 1), 'round', 1, MAX_ROUND)).toThrow(
      /from 1 to 999999999/,
    )
    expect(() => canonicalInteger(undefined, 'round')).toThrow(PollenError)
  })
})
