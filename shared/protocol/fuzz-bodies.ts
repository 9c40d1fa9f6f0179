import fc from 'fast-check'
import { nested } from '../fuzz.ts'
import { SERVER_OPTIMIZERS, WEIGHTINGS } from './aggregation.ts'
import { BACKENDS } from './device.ts'
import {
  BACKEND_ORDER,
  isPrivate,
  MAX_TASK_SEED,
  MODEL_PRESETS,
  OPTIMIZERS,
  PRIVACY_MODES,
  SECURE_MIN_PARTICIPANTS,
  selectedPerRound,
  TASK_MODES,
} from './task.ts'

// The bodies the protocol's fuzz suite (task-spec.fuzz.test.ts) sends its parsers: valid ones,
// within every documented bound, and hostile values to put anywhere in them. No app code
// imports it.

// ---- valid bodies ------------------------------------------------------------------------

/** A string the schema keeps as is: 1..max UTF-16 units, not blank (names and purposes trim). */
const text = (max: number) =>
  fc
    .string({ minLength: 1, maxLength: max, unit: 'grapheme' })
    .filter((s) => s.length <= max && s.trim() === s && s.length > 0)
const name = fc.stringMatching(/^[\w.-]{1,100}$/)
const between = (min: number, max: number, minExcluded = false) =>
  fc.double({ min, max, minExcluded, noNaN: true })
const optional = <T>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
  fc.record(fields, { requiredKeys: [] }) as fc.Arbitrary<Partial<T>>

const roundsArb = fc.integer({ min: 1, max: 10_000 }).chain((clientsPerRound) =>
  optional({
    total: fc.integer({ min: 1, max: 100_000 }),
    clientsPerRound: fc.constant(clientsPerRound),
    minReports: fc.integer({ min: 1, max: clientsPerRound }),
    deadlineSeconds: between(0, 7 * 24 * 3600, true),
    overSelect: between(1, 5),
  }).map((r) =>
    // Without clientsPerRound the default (10) caps minReports.
    r.clientsPerRound === undefined && (r.minReports ?? 0) > 10 ? { ...r, minReports: 10 } : r,
  ),
)

export const validSpec = fc
  .record(
    {
      name: text(200),
      purpose: text(4000),
      model: fc.oneof(
        fc.record({ preset: fc.constantFrom(...MODEL_PRESETS) }),
        fc.record(
          {
            preset: fc.constant('custom' as const),
            topology: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
            initialWeights: fc.base64String({ maxLength: 64 }),
          },
          { requiredKeys: ['preset', 'topology'] },
        ),
      ),
      seed: fc.integer({ min: 0, max: MAX_TASK_SEED }),
      dataset: name,
      train: optional({
        optimizer: fc.constantFrom(...OPTIMIZERS),
        learningRate: between(0, 10, true),
        batchSize: fc.integer({ min: 1, max: 4096 }),
        localEpochs: fc.integer({ min: 1, max: 100 }),
        proximalMu: between(0, 10),
      }),
      rounds: roundsArb,
      aggregation: optional({
        weighting: fc.constantFrom(...WEIGHTINGS),
        optimizer: fc.constantFrom(...SERVER_OPTIMIZERS),
        serverLearningRate: between(0, 100, true),
        momentum: between(0, 0.999),
        beta1: between(0, 0.999),
        beta2: between(0, 0.9999),
        tau: between(0, 1, true),
      }),
      work: optional({
        deadlineAware: fc.boolean(),
        margin: between(0, 0.9),
        partialUploads: fc.boolean(),
      }),
      eligibility: optional({
        minBackend: fc.constantFrom(...BACKEND_ORDER),
        minMemoryMB: between(0, 1e6),
        requireCharging: fc.boolean(),
        requireUnmetered: fc.boolean(),
      }),
      mode: fc.constantFrom(...TASK_MODES),
      async: optional({
        bufferSize: fc.integer({ min: 1, max: 10_000 }),
        maxStaleness: fc.integer({ min: 0, max: 1000 }),
        stalenessExponent: between(0, 10),
        concurrency: fc.integer({ min: 1, max: 10_000 }),
      }),
      privacy: fc.option(
        fc.record(
          {
            clipNorm: between(0, 1e6, true),
            noiseMultiplier: between(0, 1000),
            delta: between(0, 0.1, true),
            epsilonBudget: between(0, 1e6, true),
            mode: fc.constantFrom(...PRIVACY_MODES),
            population: fc.integer({ min: 1, max: 1e9 }),
          },
          { requiredKeys: ['clipNorm', 'noiseMultiplier', 'epsilonBudget'] },
        ),
      ),
      secureAggregation: fc.oneof(
        fc.boolean(),
        fc.constant(null),
        optional({ threshold: between(0.5, 1, true), range: between(0, 1e6, true) }),
      ),
    },
    { requiredKeys: ['name', 'purpose', 'model'] },
  )
  .map(makeConsistent)

/** Applies the rules that span fields, so that every generated spec is one the docs allow. */
function makeConsistent(spec: Record<string, unknown>): Record<string, unknown> {
  if (!isPrivate(spec)) return spec
  const out: Record<string, unknown> = { ...spec, mode: 'sync' }
  const aggregation = spec.aggregation as Record<string, unknown> | undefined
  if (aggregation?.weighting !== undefined)
    out.aggregation = { ...aggregation, weighting: 'uniform' }
  const privacy = spec.privacy as Record<string, unknown> | null | undefined
  const secure = spec.secureAggregation !== undefined && spec.secureAggregation !== false
  const secured = secure && spec.secureAggregation !== null
  if (privacy?.mode === 'distributed' && !secured) out.privacy = { ...privacy, mode: 'central' }
  const rounds = (spec.rounds ?? {}) as {
    clientsPerRound?: number
    minReports?: number
    overSelect?: number
  }
  if (secured && rounds.clientsPerRound !== undefined) {
    const r = { overSelect: 1.3, ...rounds, clientsPerRound: rounds.clientsPerRound }
    if (selectedPerRound(r) < SECURE_MIN_PARTICIPANTS)
      out.rounds = {
        ...rounds,
        clientsPerRound: SECURE_MIN_PARTICIPANTS,
        minReports: Math.min(rounds.minReports ?? 1, SECURE_MIN_PARTICIPANTS),
      }
  }
  return out
}

/** Some of `fields`, at least one: a PATCH part naming none is refused. */
const someOf = <T>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
  optional(fields).filter((part) => Object.keys(part).length > 0)

export const validPatch = optional({
  status: fc.constantFrom('running' as const, 'paused' as const),
  rounds: someOf({
    total: fc.integer({ min: 1, max: 100_000 }),
    clientsPerRound: fc.integer({ min: 1, max: 10_000 }),
    minReports: fc.integer({ min: 1, max: 10_000 }),
    deadlineSeconds: between(0, 7 * 24 * 3600, true),
    overSelect: between(1, 5),
  }),
  train: someOf({
    optimizer: fc.constantFrom(...OPTIMIZERS),
    learningRate: between(0, 10, true),
    batchSize: fc.integer({ min: 1, max: 4096 }),
    localEpochs: fc.integer({ min: 1, max: 100 }),
    proximalMu: between(0, 10),
  }),
}).filter((p) => Object.keys(p).length > 0)

export const validEnrol = optional({
  protocolVersion: fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  label: fc.string({ maxLength: 200 }),
}).map((e) => ({ protocolVersion: 1, ...e }))

export const validCheckin = fc.record(
  {
    protocolVersion: fc.integer({ min: 0, max: 10 }),
    capabilities: fc.record(
      {
        backend: fc.constantFrom(...BACKENDS),
        examplesPerSecond: between(0, 1e6),
        memoryMB: between(0, 1e6),
        charging: fc.boolean(),
        network: fc.constantFrom('unmetered' as const, 'metered' as const, 'unknown' as const),
        userAgent: fc.string({ maxLength: 500 }),
      },
      { requiredKeys: ['backend'] },
    ),
    datasets: fc.array(
      fc.record({
        name,
        examples: fc.integer({ min: 0, max: 10_000_000 }),
        labels: fc.array(fc.integer({ min: 0, max: 10_000_000 }), { maxLength: 20 }),
      }),
      { maxLength: 4 },
    ),
    consents: fc.array(fc.string({ minLength: 1, maxLength: 100 }), { maxLength: 5 }),
  },
  { requiredKeys: ['protocolVersion', 'capabilities', 'datasets'] },
)

export const validMetadata = fc.record(
  {
    examples: fc.integer({ min: 1, max: 10_000_000 }),
    steps: fc.integer({ min: 0, max: 1_000_000 }),
    loss: between(-1e6, 1e6),
    baseModel: fc.stringMatching(/^[0-9a-f]{64}$/),
    partial: fc.boolean(),
  },
  { requiredKeys: ['examples', 'steps', 'baseModel'] },
)

// ---- hostile values ----------------------------------------------------------------------

/**
 * Values no field of these schemas accepts (free-form records aside): non-finite numbers (not
 * JSON, but the simulator and tests call the parsers directly), an array nested a few thousand
 * deep, and an object with a key no schema knows. A parser handed one must name its field.
 */
export const neverValid = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity),
  fc.integer({ min: 100, max: 5000 }).map(nested),
  fc.constant({ '(fuzz)': 1 }),
)

/** Anything an attacker might try in a field: wrong types, edges and beyond, huge, deep. */
export const hostile = fc.oneof(
  neverValid,
  fc.constantFrom(
    -1,
    0,
    -0,
    0.5,
    1.5,
    2 ** 31,
    2 ** 32,
    2 ** 32 - 1,
    2 ** 53,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e-300,
  ),
  fc.double(),
  fc.integer(),
  fc.constantFrom('', ' ', 'x', '\u0000', '\ud800', 'x'.repeat(100_001), '1', 'true', 'null'),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(true, false, null, [], {}, [1], JSON.parse('{"__proto__":1}') as unknown),
  fc.jsonValue({ maxDepth: 3 }),
)
