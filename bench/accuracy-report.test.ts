import { describe, expect, it } from 'vitest'
import { type Curve, curvesCsv, curvesSvg, roundsTo, within } from './accuracy-report.ts'
import type { RoundResult } from './fedavg.ts'

const rounds = (accuracies: number[]): RoundResult[] =>
  accuracies.map((accuracy, i) => ({
    round: i + 1,
    accuracy,
    loss: 1 - accuracy,
    trainSeconds: 0.5,
    evalSeconds: 0.1,
  }))

describe('roundsTo and within', () => {
  it('finds the first round at or above the target, or null', () => {
    const r = rounds([0.5, 0.74, 0.75, 0.7, 0.81])
    expect(roundsTo(r, 0.75)).toBe(3)
    expect(roundsTo(r, 0.8)).toBe(5)
    expect(roundsTo(r, 0.9)).toBeNull()
  })

  it('compares rounds to a target within a relative tolerance of the reference', () => {
    expect(within(10, 8, 0.25)).toBe(true)
    expect(within(11, 8, 0.25)).toBe(false)
    expect(within(6, 8, 0.25)).toBe(true)
    expect(within(5, 8, 0.25)).toBe(false)
    // Not reaching what the reference reached is outside; nothing to compare without it.
    expect(within(null, 8, 0.25)).toBe(false)
    expect(within(8, null, 0.25)).toBeNull()
    expect(within(null, null, 0.25)).toBeNull()
  })
})

describe('the curves', () => {
  const curves: Curve[] = [
    { partition: 'iid', side: 'pollen', rounds: rounds([0.6, 0.8]) },
    { partition: 'iid', side: 'pytorch', rounds: rounds([0.62, 0.79]) },
    { partition: 'classes:2', side: 'pollen', rounds: rounds([0.3, 0.5]) },
  ]

  it('writes one CSV row per round, side and partition', () => {
    const csv = curvesCsv(curves).trim().split('\n')
    expect(csv[0]).toBe('partition,round,side,accuracy,loss,train_seconds,eval_seconds')
    expect(csv).toHaveLength(7)
    expect(csv[1]).toBe('iid,1,pollen,0.6000,0.4000,0.500,0.100')
    expect(csv[6]).toBe('classes:2,2,pollen,0.5000,0.5000,0.500,0.100')
  })

  it('draws a panel per partition side by side, a line per side, and the targets', () => {
    const svg = curvesSvg(curves, { targets: [0.75, 0.8], title: 'FedAvg <2NN> & co' })
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="840"')).toBe(true)
    expect(svg.match(/<polyline /g)).toHaveLength(3)
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(4)
    expect(svg).toContain('>iid</text>')
    expect(svg).toContain('>classes:2</text>')
    expect(svg).toContain('FedAvg &#60;2NN&#62; &#38; co')
    expect(svg.trim().endsWith('</svg>')).toBe(true)
  })
})
