import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { tfl, useBackend } from '../tf/index.ts'
import { buildModel, toLayersTopology } from './index.ts'
import { HOSTILE_TOPOLOGIES, smallCnn, smallFunctional } from './topology-cases.ts'
import { checkTopology, TopologyError, type ModelBudget } from './topology-check.ts'

const RUNS = Number(process.env.POLLEN_FUZZ_RUNS ?? 100)

/** Small, so that what the check accepts builds in milliseconds. */
const BUDGET: ModelBudget = { maxParameters: 300_000, maxActivations: 100_000 }

/** The check on one input: a summary or its own error, never another throw, never slow. */
function check(topology: unknown) {
  const started = performance.now()
  try {
    return checkTopology(topology, BUDGET)
  } catch (error) {
    if (!(error instanceof TopologyError)) throw error
    return undefined
  } finally {
    expect(performance.now() - started).toBeLessThan(250)
  }
}

let accepted = 0

/** What the check accepted builds, with the parameters, shapes and activations it predicted. */
function buildsAsPredicted(topology: unknown): void {
  const summary = check(topology)
  if (!summary) return
  accepted++
  const model = buildModel({ preset: 'custom', topology })
  try {
    expect(model.countParams()).toBe(summary.parameters)
    expect(summary.parameters).toBeLessThanOrEqual(BUDGET.maxParameters)
    expect(model.inputs[0]!.shape).toEqual([null, ...summary.inputShape])
    expect(model.outputs[0]!.shape).toEqual([null, ...summary.outputShape])
    const outputs = model.layers.map((l) => size((l.outputShape as number[]).slice(1)))
    const input = model instanceof tfl.Sequential ? [size(summary.inputShape)] : []
    expect([...input, ...outputs].reduce((a, b) => a + b, 0)).toBe(summary.activations)
  } finally {
    model.dispose()
  }
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1)

/** Values that make a topology almost valid as often as not: small numbers, known words. */
const nearValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -2, max: 40 }),
  fc.constantFrom(0.5, 1e9, 2 ** 53, -0, 1.5, 1e-300),
  fc.constantFrom(
    'same',
    'valid',
    'relu',
    'softmax',
    'gelu',
    'channels_first',
    'float32',
    'int32',
    'Dense',
    'Conv2D',
    'Flatten',
    'InputLayer',
    'Orthogonal',
    'Zeros',
    'LSTM',
    'constructor',
    '__proto__',
    'conv',
    'fc',
    'out',
    'image',
    'a',
    'b',
    'sum',
  ),
  fc.constant(null),
  fc.constant(true),
  fc.constantFrom([], {}, [null, 12, 12, 1], [null, 784], [3, 3], [2, 2], [['a', 0, 0, {}]]),
  fc.jsonValue({ maxDepth: 2 }),
)

type Mutation = { at: number; op: 'replace' | 'delete' | 'insert' | 'copy'; value: unknown }

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace', 'replace', 'delete', 'insert', 'copy'),
  value: nearValue,
})

/** Every container in `root` and each key in it, in a stable order. */
function places(root: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const out: [Record<string, unknown> | unknown[], string | number][] = []
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return
    const entries: [string | number, unknown][] = Array.isArray(node)
      ? node.map((v, i) => [i, v])
      : Object.entries(node)
    for (const [key, value] of entries) {
      out.push([node as Record<string, unknown>, key])
      walk(value)
    }
  }
  walk(root)
  return out
}

function mutate(base: unknown, mutations: Mutation[]): unknown {
  const root = structuredClone(base)
  for (const { at, op, value } of mutations) {
    const all = places(root)
    if (all.length === 0) break
    const [parent, key] = all[at % all.length]!
    const record = parent as Record<string | number, unknown>
    if (op === 'replace') record[key] = structuredClone(value)
    else if (op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1)
      else delete record[key]
    } else if (op === 'insert') {
      if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(value))
      else record[typeof value === 'string' ? value : `k${at}`] = structuredClone(value)
    } else {
      // Another place's value here: a layer twice, a name where a shape was, an inbound loop.
      const [from, fromKey] = all[(at * 7 + 3) % all.length]!
      record[key] = structuredClone((from as Record<string | number, unknown>)[fromKey])
    }
  }
  return root
}

describe(`the topology check, fuzzed (${RUNS} runs a property)`, () => {
  let seeds: unknown[] = []
  beforeAll(async () => {
    await useBackend('wasm')
    const mlp = buildModel({ preset: 'mnist-2nn' })
    seeds = [toLayersTopology(mlp), smallCnn, smallFunctional().topology]
    mlp.dispose()
    for (const seed of seeds) expect(check(seed), JSON.stringify(seed).slice(0, 80)).toBeDefined()
  })

  it('answers arbitrary JSON and JS values with a summary or its own error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (value) => {
        check(value)
        check({ class_name: 'Sequential', config: value })
        check({ class_name: 'Model', config: value })
      }),
      { numRuns: RUNS },
    )
  })

  it('builds whatever it accepts among mutations of valid topologies, as predicted', () => {
    accepted = 0
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (which, mutations) => buildsAsPredicted(mutate(seeds[which % seeds.length], mutations)),
      ),
      { numRuns: RUNS * 3 },
    )
    // Mutations must leave some topologies valid, or the property above proves little.
    expect(accepted).toBeGreaterThan(RUNS / 20)
  })

  it('refuses every mutation of the hostile topologies that it does not build as predicted', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...HOSTILE_TOPOLOGIES),
        fc.array(mutation, { maxLength: 2 }),
        ({ topology }, mutations) => buildsAsPredicted(mutate(topology, mutations)),
      ),
      { numRuns: RUNS },
    )
  })
})
