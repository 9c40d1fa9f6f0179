import { describe, expect, it } from 'vitest'
import { uploadStatus } from './upload-status.ts'

describe('upload statuses', () => {
  it('answers each outcome with its status, a rejection by what was wrong', () => {
    const rejected = { type: 'rejected', round: 1, message: 'no' } as const
    expect(uploadStatus({ answer: { type: 'accepted', round: 1, reported: 1 } })).toBe(200)
    expect(uploadStatus({ answer: { type: 'unknown-round', message: '' } })).toBe(404)
    expect(uploadStatus({ answer: { type: 'duplicate', round: 1, message: '' } })).toBe(409)
    expect(uploadStatus({ answer: { type: 'late', round: 1, message: '' } })).toBe(410)
    const stale = { type: 'stale', round: 1, staleness: 3, maxStaleness: 1, message: '' } as const
    expect(uploadStatus({ answer: stale })).toBe(410)
    expect(uploadStatus({ answer: rejected, problem: 'too-large' })).toBe(413)
    expect(uploadStatus({ answer: rejected, problem: 'out-of-stage' })).toBe(409)
    expect(uploadStatus({ answer: rejected, problem: 'invalid' })).toBe(422)
  })
})
