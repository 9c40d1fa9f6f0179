import { describe, expect, it } from 'vitest'
import type { DownloadEncoding } from '../../shared/protocol/index.ts'
import type { NetworkSignals } from './codec-choice.ts'
import { chooseDownload, networkDownload } from './download-choice.ts'

const ALL: DownloadEncoding[] = ['float32', 'float16', 'delta']

describe('a download encoding by the network', () => {
  const frugal: [string, NetworkSignals][] = [
    ['saving data on 4g', { saveData: true, effectiveType: '4g' }],
    ['on 2g', { effectiveType: '2g' }],
    ['on slow-2g', { effectiveType: 'slow-2g' }],
    ['on a cellular (metered) link', { type: 'cellular', effectiveType: '4g' }],
  ]

  it.each(frugal)('%s: the smallest served, a delta before float16 before float32', (_, net) => {
    expect(chooseDownload(ALL, net)).toBe('delta')
    expect(chooseDownload(['float32', 'float16'], net)).toBe('float16')
    expect(chooseDownload(['float16', 'float32'], net)).toBe('float16')
    expect(chooseDownload(['float32', 'delta'], net)).toBe('delta')
    expect(chooseDownload(['float32'], net)).toBe('float32')
  })

  const plenty: [string, NetworkSignals | undefined][] = [
    ['on wifi', { type: 'wifi', effectiveType: '4g', saveData: false }],
    ['on 3g', { effectiveType: '3g' }],
    ['with no NetworkInformation', undefined],
  ]

  it.each(plenty)('%s: the task’s first listed', (_, net) => {
    expect(chooseDownload(ALL, net)).toBe('float32')
    expect(chooseDownload(['delta', 'float16', 'float32'], net)).toBe('delta')
    expect(chooseDownload(['float16', 'float32'], net)).toBe('float16')
  })

  it('asks float32 of an empty list', () => {
    expect(chooseDownload([], { saveData: true })).toBe('float32')
    expect(chooseDownload([])).toBe('float32')
  })

  it('reads the network at each choice, as it is then', () => {
    let network: NetworkSignals | undefined = { type: 'wifi' }
    const choose = networkDownload(() => network)
    expect(choose(ALL)).toBe('float32')
    network = { saveData: true }
    expect(choose(ALL)).toBe('delta')
  })
})
