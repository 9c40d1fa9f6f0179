// Devices that take part in secure rounds without training, for the secure-aggregation tests:
// each answers a known delta, so the committed model shows what the coordinator unmasked.
import { createDevice, type DeviceEvent, type Trainer } from '../client/device/index.ts'
import { buildModel, getWeights } from '../shared/models/index.ts'
import type { RoundView } from '../shared/protocol/index.ts'
import { decodeContainer, type NamedTensor } from '../shared/tensors/index.ts'

type Shapes = { name: string; shape: number[] }[]

/** mnist-2nn's weight shapes (once a TF.js backend is up). */
export const mnist2nnShapes = (): Shapes =>
  getWeights(buildModel({ preset: 'mnist-2nn' })).map(({ name, shape }) => ({ name, shape }))

/** A delta of `shapes` whose entry k is `value` + (k mod 1000)·1e-7 (so entries differ). */
function knownDelta(shapes: Shapes, value: number): NamedTensor[] {
  let k = 0
  return shapes.map(({ name, shape }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1))
    for (let i = 0; i < data.length; i++) data[i] = value + (k++ % 1000) * 1e-7
    return { name, shape, dtype: 'float32' as const, data }
  })
}

/**
 * Trains nothing: answers `knownDelta(value)` after `ms`, long enough for keys and shares to go
 * first (a real device trains for longer).
 */
const fixedTrainer = (shapes: () => Shapes, value: number, ms = 2500): Trainer => ({
  train: async () => {
    await new Promise((resolve) => setTimeout(resolve, ms))
    return { delta: knownDelta(shapes(), value), examples: 10, steps: 1, loss: 0.5 }
  },
})

/** Ten blank examples: what the fixed trainer is given (and ignores). */
const blankExamples = {
  count: 10,
  images: new Float32Array(10 * 784),
  labels: new Uint8Array(10),
} as never

/**
 * The largest distance, entry by entry, of the round's committed update from the known delta
 * of `mean`; `call` fetches an admin path.
 */
export async function distanceFromMean(
  call: (path: string) => Promise<Response>,
  closed: RoundView,
  mean: number,
) {
  const weights = async (hash: string) =>
    decodeContainer(new Uint8Array(await (await call(`/api/v1/models/${hash}`)).arrayBuffer()))
      .tensors
  const [before, after] = [await weights(closed.baseModel), await weights(closed.model!)]
  let worst = 0
  let k = 0
  for (const [t, tensor] of after.entries())
    for (let i = 0; i < tensor.data.length; i++) {
      const want = mean + (k++ % 1000) * 1e-7
      worst = Math.max(worst, Math.abs(tensor.data[i]! - before[t]!.data[i]! - want))
    }
  return worst
}

/**
 * One device per value in `values`, each answering `knownDelta(value)`, enrolled; those whose
 * index is in `drop` vanish after sharing. Their events, per device, in `events`.
 */
export async function secureDevices({
  server,
  fetch,
  shapes,
  values,
  drop,
}: {
  server: string
  fetch?: typeof globalThis.fetch
  shapes: () => Shapes
  values: number[]
  drop: Set<number>
}) {
  const events: DeviceEvent[][] = values.map(() => [])
  const devices = values.map((value, i) =>
    createDevice({
      server,
      ...(fetch ? { fetch } : {}),
      trainer: fixedTrainer(shapes, value),
      examples: blankExamples,
      backend: 'wasm',
      label: `secure ${i}`,
      beforeUpload: () => Promise.resolve(drop.has(i) ? 'drop' : 'upload'),
      onEvent: (e) => events[i]!.push(e),
    }),
  )
  for (const d of devices) await d.enrol()
  return { devices, events }
}
