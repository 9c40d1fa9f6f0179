import { describe, expect, it } from 'vitest'
import { noParticipation, round } from '../fixtures.ts'
import {
  bytesByRound,
  durationByRound,
  metricsByRound,
  metricsByTime,
  participation,
  tierShareByRound,
} from './data.ts'

const withShares = (round_: number, fast: number, slow: number, wasm: number, cpu: number) => {
  const p = noParticipation()
  p.byTier.fast = { devices: fast > 0 ? 1 : 0, examples: fast }
  p.byTier.slow = { devices: slow > 0 ? 1 : 0, examples: slow }
  p.byBackend.wasm = { devices: wasm > 0 ? 1 : 0, examples: wasm }
  p.byBackend.cpu = { devices: cpu > 0 ? 1 : 0, examples: cpu }
  return round({ round: round_, participation: p })
}

describe('chart data', () => {
  const rounds = [
    round({
      round: 1,
      accuracy: 0.5,
      loss: 1.5,
      closedAt: '2026-11-25T00:00:30.000Z',
      bytesUp: 3,
      bytesDown: 9,
    }),
    round({
      round: 2,
      status: 'abandoned',
      accuracy: null,
      loss: null,
      model: null,
      startedAt: '2026-11-25T00:00:30.000Z',
      closedAt: '2026-11-25T00:01:00.000Z',
    }),
    round({ round: 3, status: 'open', accuracy: null, loss: null, closedAt: null, bytesDown: 4 }),
  ]

  it('puts closed rounds on the x axis, gaps where no evaluation ran', () => {
    expect(metricsByRound(rounds)).toEqual([
      [1, 2],
      [0.5, null],
      [1.5, null],
    ])
    expect(metricsByTime(rounds)[0]).toEqual([
      Date.parse('2026-11-25T00:00:30.000Z') / 1000,
      Date.parse('2026-11-25T00:01:00.000Z') / 1000,
    ])
    expect(durationByRound(rounds)).toEqual([
      [1, 2],
      [30, 30],
    ])
  })

  it('counts the open round in the bytes so far', () => {
    expect(bytesByRound(rounds)).toEqual([
      [1, 2, 3],
      [3, 0, 0],
      [9, 0, 4],
    ])
  })

  it('sums participation over rounds into shares by tier and backend', () => {
    const { byTier, byBackend } = participation([
      withShares(1, 30, 10, 40, 0),
      withShares(2, 60, 0, 0, 60),
    ])
    expect(byTier.map((r) => [r.key, r.devices, r.examples])).toEqual([
      ['fast', 2, 90],
      ['medium', 0, 0],
      ['slow', 1, 10],
      ['unknown', 0, 0],
    ])
    expect(byTier[0]!.exampleShare).toBeCloseTo(0.9)
    expect(byTier[0]!.deviceShare).toBeCloseTo(2 / 3)
    expect(byBackend.map((r) => [r.key, r.exampleShare])).toEqual([
      ['webgpu', 0],
      ['wasm', 0.4],
      ['cpu', 0.6],
    ])
    expect(participation([]).byTier.every((r) => r.exampleShare === 0)).toBe(true)
  })

  it('gives each tier its share of a round, null for a round nobody reported in', () => {
    expect(tierShareByRound([withShares(1, 30, 10, 40, 0), round({ round: 2 })])).toEqual([
      [1, 2],
      [0.75, null],
      [0, null],
      [0.25, null],
      [0, null],
    ])
  })
})
