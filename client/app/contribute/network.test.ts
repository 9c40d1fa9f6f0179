import { describe, expect, it } from 'vitest'
import { readNetwork } from './network.ts'

describe('the network signals', () => {
  it('are what navigator.connection says, each only where it says it', () => {
    expect(readNetwork({})).toBeUndefined()
    expect(readNetwork(undefined)).toBeUndefined()
    expect(
      readNetwork({ connection: { saveData: true, effectiveType: '4g', type: 'wifi' } }),
    ).toEqual({ saveData: true, effectiveType: '4g', type: 'wifi' })
    expect(readNetwork({ connection: { effectiveType: '3g', saveData: 'yes' } })).toEqual({
      effectiveType: '3g',
    })
  })
})
