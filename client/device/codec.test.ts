import { describe, expect, it } from 'vitest'
import type { Assignment } from '../../shared/protocol/index.ts'
import type { Codec } from '../../shared/tensors/index.ts'
import { acceptedUploads, roundCodec } from './codec.ts'

const assignment = (uploads?: Codec[]) =>
  ({ taskId: 't', round: 1, ...(uploads ? { compression: { uploads } } : {}) }) as Assignment

describe('the round’s upload codec', () => {
  it('is float32 without a wish, and float32 alone when the assignment names none', () => {
    expect(acceptedUploads(assignment())).toEqual(['float32'])
    expect(roundCodec(assignment())).toBe('float32')
    expect(roundCodec(assignment(), () => 'int8')).toBe('float32')
    expect(roundCodec(assignment(['float32', 'int8']))).toBe('float32')
  })

  it('is the wish when the assignment accepts it', () => {
    expect(roundCodec(assignment(['float32', 'int8', 'bbit1']), () => 'bbit1')).toBe('bbit1')
    expect(roundCodec(assignment(['topk']), () => 'topk')).toBe('topk')
  })

  it('falls back to float32 if accepted, else the task’s first, for a wish it does not accept', () => {
    expect(roundCodec(assignment(['float32', 'int8']), () => 'bbit2')).toBe('float32')
    expect(roundCodec(assignment(['int8', 'bbit1']), () => 'bbit2')).toBe('int8')
    expect(roundCodec(assignment(['int8', 'bbit1']))).toBe('int8')
  })
})
