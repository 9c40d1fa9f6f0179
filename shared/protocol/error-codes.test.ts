import { describe, expect, expectTypeOf, it } from 'vitest'
import { API_ERROR, type CodeOf, ERROR_CODES, errorStatus, isErrorCode } from './error-codes.ts'

describe('ERROR_CODES', () => {
  it('has one case style and an error status for every code, with a sentence for when', () => {
    for (const [code, { status, when }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/)
      expect(status >= 400 && status <= 599, code).toBe(true)
      expect(when.length, code).toBeGreaterThan(10)
    }
  })

  it('names each code by itself, and knows its own codes only', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(API_ERROR[code as never]).toBe(code)
    expect(isErrorCode('not_found')).toBe(true)
    expect(isErrorCode('not-found')).toBe(false)
    expect(isErrorCode('toString')).toBe(false)
    expect(errorStatus('duplicate')).toBe(409)
  })

  it('picks the codes of a status', () => {
    expectTypeOf<CodeOf<429 | 503>>().toEqualTypeOf<'too_many_uploads' | 'busy'>()
    expectTypeOf<CodeOf<408>>().toEqualTypeOf<'body_timeout'>()
  })
})
