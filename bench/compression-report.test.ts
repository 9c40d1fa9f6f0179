import { describe, expect, it } from 'vitest'
import type { DownloadEncoding } from '../shared/protocol/index.ts'
import type { Codec } from '../shared/tensors/index.ts'
import { summarise } from './compression-report.ts'
import { type CodecRun, variants } from './compression-run.ts'

const run = (
  codec: Codec,
  download: DownloadEncoding,
  up: number,
  down: number,
  accuracy: number,
): CodecRun => ({
  model: 'mnist-2nn',
  dataset: 'mnist',
  codec,
  download,
  updateBytes: 800_000,
  seconds: 1,
  rounds: [1, 2].map((round) => ({
    round,
    status: 'committed' as const,
    reported: 10,
    rejected: 0,
    accuracy: round === 2 ? accuracy : 0.1,
    loss: 1,
    bytesUp: up,
    bytesDown: down,
  })),
})

describe('bench:compression report', () => {
  it('runs each upload codec with float32 models, then float32 uploads with each compressed model', () => {
    expect(variants({ codecs: ['float32', 'bbit1'], downloads: ['float32', 'delta'] })).toEqual([
      { codec: 'float32', download: 'float32' },
      { codec: 'bbit1', download: 'float32' },
      { codec: 'float32', download: 'delta' },
    ])
  })

  it('compares every run with float32 both ways, and holds 16× codecs to the goal (1-bit: 1.5 points)', () => {
    const rows = summarise([
      run('float32', 'float32', 8_000_000, 8_000_000, 0.9),
      run('bbit1', 'float32', 250_000, 8_000_000, 0.888),
      run('topk', 'float32', 160_000, 8_000_000, 0.89),
      run('bbit2', 'float32', 505_000, 8_000_000, 0.9),
      run('float32', 'delta', 8_000_000, 2_000_000, 0.899),
    ])
    expect(rows.map((r) => [r.codec, r.download, r.goal])).toEqual([
      ['float32', 'float32', null],
      ['bbit1', 'float32', true], // 1.2 points: within 1-bit's 1.5
      ['topk', 'float32', false], // 1 point: over 0.5
      ['bbit2', 'float32', null], // 15.8×: short of 16×
      ['float32', 'delta', null],
    ])
    expect(rows[1]!.upRatio).toBe(32)
    expect(rows[1]!.lossPoints).toBeCloseTo(1.2, 6)
    expect(rows[4]).toMatchObject({ upRatio: 1, downRatio: 4 })
    expect(rows[4]!.lossPoints).toBeCloseTo(0.1, 6)
  })
})
