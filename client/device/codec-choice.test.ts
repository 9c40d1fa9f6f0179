import { describe, expect, it } from 'vitest'
import type { Codec } from '../../shared/tensors/index.ts'
import type { Assignment } from '../../shared/protocol/index.ts'
import {
  bytesPerEntry,
  chooseCodec,
  networkCodec,
  networkNeed,
  smallestCodec,
} from './codec-choice.ts'

const ALL: Codec[] = ['float32', 'float16', 'int8', 'bbit4', 'bbit3', 'bbit2', 'bbit1', 'topk']

describe('bytes an entry', () => {
  it('are the container’s real sizes: float32 4, float16 2, int8 just over 1, b-bit near b/8', () => {
    expect(bytesPerEntry('float32')).toBe(4)
    expect(bytesPerEntry('float16')).toBe(2)
    expect(bytesPerEntry('int8')).toBeGreaterThan(1)
    expect(bytesPerEntry('int8')).toBeLessThan(1.05)
    for (const bits of [1, 2, 3, 4]) {
      const bytes = bytesPerEntry(`bbit${bits}` as Codec)
      expect(bytes).toBeGreaterThanOrEqual(bits / 8)
      expect(bytes).toBeLessThan(bits / 8 + 0.01)
    }
    expect(bytesPerEntry('topk')).toBeCloseTo(0.08, 3)
  })

  it('order the codecs from top-k (1% kept) up to float32', () => {
    const sorted = [...ALL].sort((a, b) => bytesPerEntry(a) - bytesPerEntry(b))
    expect(sorted).toEqual([
      'topk',
      'bbit1',
      'bbit2',
      'bbit3',
      'bbit4',
      'int8',
      'float16',
      'float32',
    ])
    expect(smallestCodec(['float32', 'int8', 'bbit2'])).toBe('bbit2')
    expect(smallestCodec([])).toBeUndefined()
  })
})

describe('the network’s need', () => {
  it('reads saveData, 2g and cellular as smallest, 3g as middle, else any', () => {
    expect(networkNeed(undefined)).toBe('any')
    expect(networkNeed({})).toBe('any')
    expect(networkNeed({ saveData: true, effectiveType: '4g' })).toBe('smallest')
    expect(networkNeed({ effectiveType: 'slow-2g' })).toBe('smallest')
    expect(networkNeed({ effectiveType: '2g' })).toBe('smallest')
    expect(networkNeed({ effectiveType: '4g', type: 'cellular' })).toBe('smallest')
    expect(networkNeed({ effectiveType: '3g' })).toBe('middle')
    expect(networkNeed({ effectiveType: '4g', type: 'wifi', saveData: false })).toBe('any')
  })
})

describe('the codec a phone picks', () => {
  const accepted: Codec[] = ['float32', 'int8', 'bbit1']

  it('is the smallest accepted when saving data, on 2g or metered', () => {
    expect(chooseCodec(accepted, { saveData: true })).toBe('bbit1')
    expect(chooseCodec(accepted, { effectiveType: '2g' })).toBe('bbit1')
    expect(chooseCodec(accepted, { type: 'cellular', effectiveType: '4g' })).toBe('bbit1')
    expect(chooseCodec([...accepted, 'topk'], { saveData: true })).toBe('topk')
  })

  it('is int8 on 3g where accepted, else the smallest', () => {
    expect(chooseCodec(accepted, { effectiveType: '3g' })).toBe('int8')
    expect(chooseCodec(['float32', 'float16', 'bbit2'], { effectiveType: '3g' })).toBe('bbit2')
  })

  it('is the task’s first on a good or unknown network', () => {
    expect(chooseCodec(accepted, { effectiveType: '4g', type: 'wifi' })).toBe('float32')
    expect(chooseCodec(['int8', 'float32'])).toBe('int8')
    expect(chooseCodec(['float32'], { saveData: true })).toBe('float32')
    expect(chooseCodec([], { saveData: true })).toBe('float32')
  })
})

describe('a codec part that reads the network', () => {
  it('reads it at each round, within the assignment’s list', () => {
    let network = { saveData: true }
    const pick = networkCodec(() => network)
    const round = { compression: { uploads: ['float32', 'int8', 'bbit1'] } } as Assignment
    expect(pick(round)).toBe('bbit1')
    network = { saveData: false }
    expect(pick(round)).toBe('float32')
    expect(pick({} as Assignment)).toBe('float32')
  })
})
