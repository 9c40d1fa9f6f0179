import { describe, expect, it } from 'vitest'
import { FASHION_MNIST_FILES } from '../data/fashion-mnist.ts'
import { parseAccuracyOptions } from './accuracy-options.ts'

describe('bench:accuracy options', () => {
  it("defaults to the paper's protocol on Fashion-MNIST, IID and two classes per device", () => {
    const o = parseAccuracyOptions([])
    expect(o.train).toEqual(FASHION_MNIST_FILES.train)
    expect(o.test).toEqual(FASHION_MNIST_FILES.test)
    expect(o.protocol).toEqual({
      devices: 100,
      fraction: 0.1,
      localEpochs: 1,
      batchSize: 10,
      learningRate: 0.05,
      rounds: 100,
      seed: 1,
    })
    expect(o.torchLearningRate).toBe(0.05)
    expect(o.partitions.map((p) => p.partition)).toEqual([
      { kind: 'iid' },
      { kind: 'classes', perDevice: 2 },
    ])
    expect(o.targets).toEqual([0.75, 0.8])
    expect(o.torch).toBe(true)
  })

  it('reads every flag', () => {
    const o = parseAccuracyOptions(
      '--train a.idx,b.idx --test c,d --devices 20 --fraction 0.25 --epochs 5 --batch 50 --lr 0.1 --torch-lr 0.2 --rounds 7 --partitions dirichlet:0.5 --targets 0.9 --tolerance 0.1 --seed 3 --threads 2 --no-torch --out /tmp/x'.split(
        ' ',
      ),
    )
    expect(o).toMatchObject({
      train: ['a.idx', 'b.idx'],
      test: ['c', 'd'],
      protocol: {
        devices: 20,
        fraction: 0.25,
        localEpochs: 5,
        batchSize: 50,
        learningRate: 0.1,
        rounds: 7,
        seed: 3,
      },
      torchLearningRate: 0.2,
      partitions: [{ name: 'dirichlet:0.5', partition: { kind: 'dirichlet', alpha: 0.5 } }],
      targets: [0.9],
      tolerance: 0.1,
      threads: 2,
      torch: false,
      out: '/tmp/x',
    })
  })

  it.each([
    [['--devices', '0'], "--devices must be a whole number from 1 to 10000, got '0'"],
    [['--devices', '1.5'], '--devices must be a whole number'],
    [['--devices', ''], '--devices must be a whole number'],
    [['--fraction', '0'], "--fraction must be a number above 0 and at most 1, got '0'"],
    [['--fraction', '1.1'], '--fraction must be a number above 0'],
    [['--epochs', '101'], '--epochs must be a whole number from 1 to 100'],
    [['--batch', 'ten'], "--batch must be a whole number from 1 to 10000, got 'ten'"],
    [['--lr=-0.1'], '--lr must be a number above 0 and at most 10'],
    [['--lr', 'NaN'], '--lr must be a number above 0'],
    [['--torch-lr', '0'], '--torch-lr must be a number above 0'],
    [['--rounds', '1e9'], '--rounds must be a whole number from 1 to 10000'],
    [['--seed=-1'], '--seed must be a whole number from 0 to 4294967295'],
    [['--threads', '0'], '--threads must be a whole number from 1 to 64'],
    [['--targets', '0.8,1'], "--targets must be 1 to 8 accuracies below 1, got '0.8,1'"],
    [['--targets', '0.8,x'], "--targets must be a number above 0 and at most 1, got 'x'"],
    [['--tolerance=-1'], '--tolerance must be a number from 0 to 10'],
    [['--partitions', 'iid,iid'], '--partitions must name 1 to 8 different partitions'],
    [
      ['--partitions', 'classes:0'],
      "--partitions must be iid, classes:N (N = 1..256) or dirichlet:α (α = 0.001..1000), got 'classes:0'",
    ],
    [['--partitions', 'dirichlet:0'], '--partitions must be iid, classes:N'],
    [['--train', 'a,,b'], "--train must be 1 to 16 comma-separated files, got 'a,,b'"],
    [['--nonsense'], "Unknown option '--nonsense'"],
    [['stray'], "Unexpected argument 'stray'"],
  ])('refuses %j', (args, message) => {
    expect(() => parseAccuracyOptions(args)).toThrow(message)
  })
})
