import { describe, expect, it } from 'vitest'
import { noParticipation, round } from '../fixtures.ts'
import {
  accuracyByRound,
  accuracyByTime,
  bytesByRound,
  fromZero,
  labelAccuracy,
  lossByRound,
  participation,
  roundShares,
  tierShareByRound,
  trainingByRound,
  waitingByRound,
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
      trainingLoss: 1.25,
      closedAt: '2026-11-25T00:02:34.000Z',
      // It waited 150 s for devices, which then trained for 4 s.
      waitingSeconds: 150,
      trainingSeconds: 4,
      bytesUp: 3,
      bytesDown: 9,
    }),
    round({
      round: 2,
      status: 'abandoned',
      accuracy: null,
      loss: null,
      trainingLoss: null,
      model: null,
      startedAt: '2026-11-25T00:02:34.000Z',
      closedAt: '2026-11-25T00:03:04.000Z',
      waitingSeconds: 30,
      trainingSeconds: null,
    }),
    round({
      round: 3,
      status: 'open',
      accuracy: null,
      loss: null,
      closedAt: null,
      waitingSeconds: 1,
      trainingSeconds: null,
      bytesUp: 1,
      bytesDown: 4,
    }),
  ]

  it('puts closed rounds on the x axis, gaps where no evaluation ran', () => {
    expect(accuracyByRound(rounds)).toEqual([
      [1, 2],
      [0.5, null],
    ])
    expect(lossByRound(rounds)).toEqual([
      [1, 2],
      [1.5, null],
      [1.25, null],
    ])
    expect(accuracyByTime(rounds)).toEqual([
      [
        Date.parse('2026-11-25T00:02:34.000Z') / 1000,
        Date.parse('2026-11-25T00:03:04.000Z') / 1000,
      ],
      [0.5, null],
    ])
  })

  it('shows waiting for devices apart from training time', () => {
    expect(waitingByRound(rounds)).toEqual([
      [1, 2],
      [150, 30],
    ])
    expect(trainingByRound(rounds)).toEqual([
      [1, 2],
      [4, null],
    ])
  })

  it('leaves the open round out of the bytes, which would drop to its so-far figures', () => {
    expect(bytesByRound(rounds)).toEqual([
      [1, 2],
      [3, 0],
      [9, 0],
    ])
  })

  it('starts quantities at 0, with room above the largest', () => {
    expect(fromZero(0.216)).toEqual([0, 0.216 * 1.1])
    expect(fromZero(null)).toEqual([0, 1])
    expect(fromZero(0)).toEqual([0, 1])
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
    const open = round({ round: 3, status: 'open', closedAt: null })
    expect(tierShareByRound([withShares(1, 30, 10, 40, 0), round({ round: 2 }), open])).toEqual([
      [1, 2],
      [0.75, null],
      [0, null],
      [0.25, null],
      [0, null],
    ])
  })
})
