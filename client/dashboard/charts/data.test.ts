import { describe, expect, it } from 'vitest'
import { noParticipation, round } from '../fixtures.ts'
import {
  bytesByRound,
  durationByRound,
  labelAccuracy,
  metricsByRound,
  metricsByTime,
  participation,
  roundShares,
  tierShareByRound,
} from './data.ts'

const withShares = (
  round_: number,
  fast: number,
  slow: number,
  wasm: number,
  cpu: number,
  partial = 0,
) => {
  const p = noParticipation()
  p.byTier.fast = { devices: fast > 0 ? 1 : 0, examples: fast }
  p.byTier.slow = { devices: slow > 0 ? 1 : 0, examples: slow }
  p.byBackend.wasm = { devices: wasm > 0 ? 1 : 0, examples: wasm }
  p.byBackend.cpu = { devices: cpu > 0 ? 1 : 0, examples: cpu }
  p.partial = { devices: partial > 0 ? 1 : 0, examples: partial }
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

  it('counts partial work as a share of all reports and examples', () => {
    const { partial } = participation([
      withShares(1, 30, 10, 40, 0, 10),
      withShares(2, 60, 0, 0, 60),
    ])
    expect(partial).toEqual({
      key: 'partial',
      devices: 1,
      examples: 10,
      deviceShare: 1 / 3,
      exampleShare: 0.1,
    })
    expect(participation([]).partial).toMatchObject({ deviceShare: 0, exampleShare: 0 })
  })

  it('shares out each of the latest rounds, newest first, null for a round without examples', () => {
    const shares = roundShares(
      [withShares(1, 1, 1, 1, 1), withShares(2, 30, 10, 40, 0, 10), round({ round: 3 })],
      2,
    )
    expect(shares.map((r) => r.round)).toEqual([3, 2])
    expect(shares[0]).toMatchObject({
      examples: 0,
      byTier: { fast: null, slow: null },
      byBackend: { wasm: null },
      partial: null,
    })
    expect(shares[1]).toEqual({
      round: 2,
      status: 'committed',
      examples: 40,
      byTier: { fast: 0.75, medium: 0, slow: 0.25, unknown: 0 },
      byBackend: { webgpu: 0, wasm: 1, cpu: 0 },
      partial: 0.25,
    })
  })

  it('lays out accuracy by label for the latest evaluated rounds, and the worst label of each', () => {
    const table = labelAccuracy(
      [
        round({ round: 1, accuracyByLabel: [0.1, 0.2, 0.3] }),
        round({ round: 2, accuracyByLabel: [0.9, 0.4, null] }),
        round({ round: 3, accuracy: null, accuracyByLabel: null }),
        round({ round: 4, accuracyByLabel: [null, 0.5, 0.5] }),
        round({ round: 5, accuracyByLabel: [null, null, null] }),
      ],
      3,
    )
    expect(table).toEqual({
      rounds: [2, 4, 5],
      labels: [
        [0.9, null, null],
        [0.4, 0.5, null],
        [null, 0.5, null],
      ],
      worst: [1, 1, null],
    })
    expect(labelAccuracy([round({ accuracyByLabel: null })])).toEqual({
      rounds: [],
      labels: [],
      worst: [],
    })
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
