import { beforeAll, describe, expect, it } from 'vitest'
import { type Examples, mulberry32, shardIid } from '../shared/data/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { perRound, pollenFedAvg, type Protocol, sampleRounds, twoNN } from './fedavg.ts'
import { startTorchFedAvg } from './torch-fedavg.ts'

/**
 * Three classes of 4×4 grey images that a 2NN tells apart after a few steps: class k is bright
 * in its own rows, with noise everywhere.
 */
function images(count: number, seed: number): Examples {
  const random = mulberry32(seed)
  const features = new Uint8Array(count * 16)
  const labels = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const label = i % 3
    labels[i] = label
    for (let p = 0; p < 16; p++) {
      const lit = Math.floor(p / 4) === label
      features[i * 16 + p] = Math.floor((lit ? 150 : 0) + 100 * random())
    }
  }
  return { count, shape: [4, 4, 1], features, labels }
}

const protocol = (over: Partial<Protocol> = {}): Protocol => ({
  devices: 6,
  fraction: 0.5,
  localEpochs: 1,
  batchSize: 10,
  learningRate: 0.1,
  rounds: 5,
  seed: 7,
  ...over,
})

describe('sampleRounds', () => {
  it('samples m = round(C·K) distinct devices each round, the same for the same seed', () => {
    const p = protocol({ devices: 100, fraction: 0.1, rounds: 50 })
    const rounds = sampleRounds(p)
    expect(rounds).toHaveLength(50)
    for (const devices of rounds) {
      expect(devices).toHaveLength(10)
      expect(new Set(devices).size).toBe(10)
      expect(devices.every((d) => Number.isInteger(d) && d >= 0 && d < 100)).toBe(true)
      expect([...devices].sort((a, b) => a - b)).toEqual(devices)
    }
    expect(sampleRounds(p)).toEqual(rounds)
    expect(sampleRounds({ ...p, seed: 8 })).not.toEqual(rounds)
    // Over 50 rounds of 10, most of the 100 devices are drawn at least once.
    expect(new Set(rounds.flat()).size).toBeGreaterThan(90)
  })

  it('takes at least one device, and all of them at C = 1', () => {
    expect(perRound({ devices: 5, fraction: 0.01 })).toBe(1)
    expect(sampleRounds(protocol({ devices: 5, fraction: 1, rounds: 2 }))).toEqual([
      [0, 1, 2, 3, 4],
      [0, 1, 2, 3, 4],
    ])
  })
})

describe('FedAvg through Pollen and through PyTorch', () => {
  beforeAll(async () => {
    await useBackend('wasm')
  })

  it("Pollen's side learns: held-out accuracy rises over the rounds", async () => {
    const p = protocol()
    const shards = shardIid(images(600, 1), p.devices, p.seed)
    const fedavg = pollenFedAvg(twoNN(16, 3), shards, images(300, 2), p)
    try {
      const accuracy: number[] = []
      for (const [r, devices] of sampleRounds(p).entries())
        accuracy.push((await fedavg.round(r + 1, devices)).accuracy)
      expect(accuracy.at(-1)).toBeGreaterThan(0.9)
    } finally {
      fedavg.dispose()
    }
  })

  it('refuses a round that samples a device without a shard', async () => {
    const p = protocol()
    const fedavg = pollenFedAvg(twoNN(16, 3), shardIid(images(60, 1), 6, 1), images(30, 2), p)
    try {
      await expect(fedavg.round(1, [6])).rejects.toThrow('device 6 has no shard (K = 6)')
    } finally {
      fedavg.dispose()
    }
  })

  it('agree round by round where the shuffles cannot differ (full-batch local steps)', async () => {
    // B = a shard's size: one step per epoch over every example, so both sides compute the same
    // gradient from the same weights, and differ only by float rounding.
    const p = protocol({ batchSize: 100, localEpochs: 2, rounds: 4, learningRate: 0.5 })
    const shards = shardIid(images(600, 3), p.devices, p.seed)
    const test = images(300, 4)
    const pollen = pollenFedAvg(twoNN(16, 3), shards, test, p)
    const torch = await startTorchFedAvg({
      shards,
      test,
      initial: pollen.initial,
      protocol: p,
      classes: 3,
      threads: 1,
    })
    try {
      for (const [r, devices] of sampleRounds(p).entries()) {
        const a = await pollen.round(r + 1, devices)
        const b = await torch.round(r + 1, devices)
        expect(b.round).toBe(r + 1)
        expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-4 * Math.max(1, a.loss))
        expect(Math.abs(a.accuracy - b.accuracy)).toBeLessThanOrEqual(1 / 300)
      }
    } finally {
      pollen.dispose()
      await torch.close()
    }
  })

  it('the PyTorch side refuses files that do not match what it was told', async () => {
    const p = protocol()
    const shards = shardIid(images(60, 1), 6, 1)
    const pollen = pollenFedAvg(twoNN(16, 3), shards, images(30, 2), p)
    try {
      // Weights of another model: the init file holds fewer floats than the shapes say.
      const initial = pollen.initial.map((t) =>
        t.name === 'fc1/kernel' ? { ...t, data: t.data.subarray(1) } : t,
      )
      await expect(
        startTorchFedAvg({
          shards,
          test: images(30, 2),
          initial,
          protocol: p,
          classes: 3,
          threads: 1,
        }),
      ).rejects.toThrow(/PyTorch reference (exited|closed)/)
    } finally {
      pollen.dispose()
    }
  })
})
