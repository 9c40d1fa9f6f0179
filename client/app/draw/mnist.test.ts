// The proof that drawings are preprocessed the MNIST way: a model trained on MNIST alone reads
// digits drawn as the pad draws them (same size, same pen) once toMnist has made them 28x28.
import { beforeAll, describe, expect, it } from 'vitest'
import { loadMnist } from '../../../data/mnist-file.ts'
import { buildModel, getWeights } from '../../../shared/models/index.ts'
import type { NamedTensor } from '../../../shared/tensors/index.ts'
import { useBackend } from '../../../shared/tf/index.ts'
import { trainLocally } from '../../../shared/training/index.ts'
import { predict } from '../../../shared/training/predict.ts'
import { PAD_SIZE } from './pad.ts'
import { toMnist } from './preprocess.ts'

/** The pad's pen: 7.5% of its side. */
const RADIUS = (PAD_SIZE * 0.075) / 2

/** Rasterises a polyline with a round pen into PAD_SIZE x PAD_SIZE alpha, as the canvas would. */
function draw(...strokes: [number, number][][]): Uint8Array {
  const alpha = new Uint8Array(PAD_SIZE * PAD_SIZE)
  for (const stroke of strokes) {
    for (let s = 0; s + 1 < stroke.length; s++) {
      const [ax, ay] = stroke[s]!
      const [bx, by] = stroke[s + 1]!
      const dx = bx - ax
      const dy = by - ay
      const len2 = dx * dx + dy * dy || 1
      for (let y = 0; y < PAD_SIZE; y++) {
        for (let x = 0; x < PAD_SIZE; x++) {
          const t = Math.max(0, Math.min(1, ((x + 0.5 - ax) * dx + (y + 0.5 - ay) * dy) / len2))
          const d = Math.hypot(x + 0.5 - (ax + t * dx), y + 0.5 - (ay + t * dy))
          // One pixel of anti-aliasing at the pen's edge.
          const v = Math.round(255 * Math.max(0, Math.min(1, RADIUS + 0.5 - d)))
          const p = y * PAD_SIZE + x
          if (v > alpha[p]!) alpha[p] = v
        }
      }
    }
  }
  return alpha
}

const ellipse = (cx: number, cy: number, rx: number, ry: number, n = 40): [number, number][] =>
  Array.from({ length: n + 1 }, (_, i) => {
    const a = (2 * Math.PI * i) / n
    return [cx + rx * Math.sin(a), cy - ry * Math.cos(a)]
  })

const DRAWN: [label: number, alpha: Uint8Array][] = [
  [0, draw(ellipse(140, 140, 60, 95))],
  [
    1,
    draw([
      [150, 40],
      [140, 240],
    ]),
  ],
  [
    4,
    draw(
      [
        [110, 40],
        [70, 160],
        [210, 160],
      ],
      [
        [180, 90],
        [175, 250],
      ],
    ),
  ],
  [
    7,
    draw([
      [70, 50],
      [210, 50],
      [120, 240],
    ]),
  ],
]

let weights: NamedTensor[]
const model = () => (built ??= buildModel({ preset: 'mnist-2nn' }))
let built: ReturnType<typeof buildModel> | undefined

beforeAll(async () => {
  await useBackend('wasm')
  const { train } = await loadMnist()
  const initial = getWeights(model())
  const n = Math.min(train.count, 8000)
  const { delta } = await trainLocally({
    model: model(),
    weights: initial,
    examples: {
      count: n,
      shape: [28, 28, 1],
      features: train.features.subarray(0, n * 784),
      labels: train.labels.subarray(0, n),
    },
    plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 10, localEpochs: 1 },
    seed: 3,
  })
  weights = initial.map((t, i) => ({ ...t, data: t.data.map((v, k) => v + delta[i]!.data[k]!) }))
}, 60_000)

describe('drawn digits, preprocessed, read by a model trained on MNIST', () => {
  it.each(DRAWN)('reads a drawn %i', async (label, alpha) => {
    const example = toMnist({ width: PAD_SIZE, height: PAD_SIZE, data: alpha })!
    const probs = Array.from(await predict(model(), weights, example, [28, 28, 1]))
    expect(probs.indexOf(Math.max(...probs))).toBe(label)
  })
})
