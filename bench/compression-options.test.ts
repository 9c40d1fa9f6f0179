import { describe, expect, it } from 'vitest'
import { parseCompressionOptions } from './compression-options.ts'

describe('bench:compression options', () => {
  it('defaults to both models and datasets, six codecs with float32 first', () => {
    const o = parseCompressionOptions([])
    expect(o).toMatchObject({
      models: ['mnist-2nn', 'mnist-cnn'],
      datasets: ['mnist', 'fashion-mnist'],
      codecs: ['float32', 'float16', 'int8', 'bbit1', 'bbit2', 'topk'],
      downloads: ['float32', 'float16', 'delta'],
      parts: ['accuracy', 'node', 'chromium'],
      devices: 10,
      examples: 100,
      rounds: 10,
      shards: { kind: 'classes', perDevice: 2 },
    })
  })

  it('--quick is small, and what is given beside it still counts', () => {
    expect(parseCompressionOptions(['--quick'])).toMatchObject({
      models: ['mnist-2nn'],
      datasets: ['mnist'],
      devices: 4,
      rounds: 3,
      repeats: 2,
    })
    expect(parseCompressionOptions(['--quick', '--', '--rounds', '2'])).toMatchObject({
      rounds: 2,
    })
  })

  it('always runs float32, the baseline, first', () => {
    expect(parseCompressionOptions(['--codecs', 'bbit1,float32']).codecs).toEqual([
      'float32',
      'bbit1',
    ])
    expect(parseCompressionOptions(['--codecs', 'bbit4']).codecs).toEqual(['float32', 'bbit4'])
  })

  it('refuses what is out of bounds or unknown, naming the flag', () => {
    for (const [args, flag] of [
      [['--codecs', 'int4'], '--codecs'],
      [['--codecs', 'int8,int8'], '--codecs'],
      [['--downloads', 'int8'], '--downloads'],
      [['--models', 'resnet'], '--models'],
      [['--datasets', 'cifar'], '--datasets'],
      [['--parts', 'gpu'], '--parts'],
      [['--devices', '1'], '--devices'],
      [['--devices', '101'], '--devices'],
      [['--examples', '2.5'], '--examples'],
      [['--rounds', '0'], '--rounds'],
      [['--rounds', ''], '--rounds'],
      [['--lr', 'NaN'], '--lr'],
      [['--held-out', '99'], '--held-out'],
      [['--seed', '-1'], '--seed'],
      [['--shards', 'classes:0'], '--shards'],
    ] as const)
      expect(() => parseCompressionOptions(args), args.join(' ')).toThrow(flag)
    expect(() => parseCompressionOptions(['--bogus'])).toThrow(/bogus/)
    expect(() => parseCompressionOptions(['stray'])).toThrow()
  })
})
