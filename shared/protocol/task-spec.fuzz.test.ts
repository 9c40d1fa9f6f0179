import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import {
  fieldOf,
  fuzzParameters,
  fuzzRuns,
  type JsonPath,
  jsonPaths,
  nested,
  objectPaths,
  replaceAt,
} from '../fuzz.ts'
import {
  BACKENDS,
  CheckinRequestSchema,
  MAX_DEVICE_EXAMPLES,
  MAX_UPDATE_STEPS,
  EnrolRequestSchema,
  UpdateMetadataSchema,
  type CheckinRequest,
  type UpdateMetadata,
} from './device.ts'
import { describeIssues } from './errors.ts'
import {
  BACKEND_ORDER,
  isPrivate,
  MAX_TASK_SEED,
  MAX_TOPOLOGY_DEPTH,
  MODEL_PRESETS,
  OPTIMIZERS,
  PRIVACY_MODES,
  SECURE_MIN_PARTICIPANTS,
  selectedPerRound,
  TASK_MODES,
  TaskPatchSchema,
  TaskSpecSchema,
  StoredTaskSpecSchema,
  type TaskPatch,
  type TaskSpec,
} from './task.ts'
import { SERVER_OPTIMIZERS, WEIGHTINGS } from './aggregation.ts'

/**
 * What an admin or a device may send the coordinator's JSON parsers: arbitrary JSON, and valid
 * bodies with one thing made hostile. The parsers must never throw, must name the field of every
 * issue, must accept only what satisfies the bounds the rest of the coordinator counts on, and
 * must be idempotent (what they return parses again to itself, as the store reads it back).
 */
const RUNS = fuzzRuns(200)
const params = fuzzParameters(RUNS)

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

const validSpec = fc
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

const validPatch = optional({
  status: fc.constantFrom('running' as const, 'paused' as const),
  rounds: optional({
    total: fc.integer({ min: 1, max: 100_000 }),
    clientsPerRound: fc.integer({ min: 1, max: 10_000 }),
    minReports: fc.integer({ min: 1, max: 10_000 }),
    deadlineSeconds: between(0, 7 * 24 * 3600, true),
    overSelect: between(1, 5),
  }),
  train: optional({
    optimizer: fc.constantFrom(...OPTIMIZERS),
    learningRate: between(0, 10, true),
    batchSize: fc.integer({ min: 1, max: 4096 }),
    localEpochs: fc.integer({ min: 1, max: 100 }),
    proximalMu: between(0, 10),
  }),
}).filter((p) => Object.keys(p).length > 0)

const validEnrol = optional({
  protocolVersion: fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  label: fc.string({ maxLength: 200 }),
}).map((e) => ({ protocolVersion: 1, ...e }))

const validCheckin = fc.record(
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

const validMetadata = fc.record(
  {
    examples: fc.integer({ min: 1, max: 10_000_000 }),
    steps: fc.integer({ min: 0, max: 1_000_000 }),
    loss: between(-1e6, 1e6),
    baseModel: fc.stringMatching(/^[0-9a-f]{64}$/),
    partial: fc.boolean(),
  },
  { requiredKeys: ['examples', 'steps', 'baseModel'] },
)

// ---- what an accepted body promises ------------------------------------------------------

/** Every number in `value` is finite: no NaN or ±Infinity ever gets past a parser. */
function expectFinite(value: unknown, path: JsonPath = []): void {
  if (typeof value === 'number') {
    expect(Number.isFinite(value), `${fieldOf(path)} = ${value}`).toBe(true)
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) expectFinite(v, [...path, k])
  }
}

const isCount = (n: number, min: number, max: number) =>
  Number.isSafeInteger(n) && n >= min && n <= max

function checkSpec(spec: TaskSpec): void {
  expectFinite(spec)
  expect(spec.name.trim()).toBe(spec.name)
  expect(spec.name.length).toBeGreaterThan(0)
  expect(spec.purpose.length).toBeGreaterThan(0)
  if (spec.seed !== undefined) expect(isCount(spec.seed, 0, MAX_TASK_SEED)).toBe(true)
  const { rounds, train, async } = spec
  expect(isCount(rounds.clientsPerRound, 1, 10_000)).toBe(true)
  expect(isCount(rounds.minReports, 1, rounds.clientsPerRound)).toBe(true)
  expect(isCount(rounds.total, 1, 100_000)).toBe(true)
  expect(rounds.deadlineSeconds).toBeGreaterThan(0)
  expect(rounds.overSelect).toBeGreaterThanOrEqual(1)
  expect(isCount(train.batchSize, 1, 4096)).toBe(true)
  expect(isCount(train.localEpochs, 1, 100)).toBe(true)
  expect(train.learningRate).toBeGreaterThan(0)
  expect(isCount(async.bufferSize, 1, 10_000)).toBe(true)
  expect(isCount(async.concurrency, 1, 10_000)).toBe(true)
  expect(isCount(async.maxStaleness, 0, 1000)).toBe(true)
  if (spec.privacy) {
    expect(spec.privacy.clipNorm).toBeGreaterThan(0)
    expect(spec.privacy.delta).toBeGreaterThan(0)
    if (spec.privacy.population !== undefined)
      expect(isCount(spec.privacy.population, 1, 1e9)).toBe(true)
    if (spec.privacy.mode === 'distributed') expect(spec.secureAggregation).not.toBeNull()
  }
  if (spec.secureAggregation) {
    expect(spec.secureAggregation.threshold).toBeGreaterThan(0.5)
    expect(selectedPerRound(rounds)).toBeGreaterThanOrEqual(SECURE_MIN_PARTICIPANTS)
  }
  if (isPrivate(spec)) {
    expect(spec.aggregation.weighting).toBe('uniform')
    expect(spec.mode).toBe('sync')
  }
}

function checkPatch(patch: TaskPatch): void {
  expectFinite(patch)
  expect(Object.keys(patch).length).toBeGreaterThan(0)
  const { rounds = {}, train = {} } = patch
  for (const [n, min, max] of [
    [rounds.total, 1, 100_000],
    [rounds.clientsPerRound, 1, 10_000],
    [rounds.minReports, 1, 10_000],
    [train.batchSize, 1, 4096],
    [train.localEpochs, 1, 100],
  ] as const)
    if (n !== undefined) expect(isCount(n, min, max)).toBe(true)
}

function checkCheckin(checkin: CheckinRequest): void {
  expectFinite(checkin)
  expect(Number.isSafeInteger(checkin.protocolVersion)).toBe(true)
  expect(checkin.datasets.length).toBeLessThanOrEqual(50)
  const { examplesPerSecond, memoryMB } = checkin.capabilities
  for (const n of [examplesPerSecond, memoryMB])
    if (n !== undefined) expect(n).toBeLessThanOrEqual(1e6)
  for (const d of checkin.datasets) {
    expect(Number.isSafeInteger(d.examples) && d.examples >= 0).toBe(true)
    expect(d.examples).toBeLessThanOrEqual(MAX_DEVICE_EXAMPLES)
    expect(
      d.labels.every((n) => Number.isSafeInteger(n) && n >= 0 && n <= MAX_DEVICE_EXAMPLES),
    ).toBe(true)
  }
}

function checkMetadata(metadata: UpdateMetadata): void {
  expectFinite(metadata)
  expect(Number.isSafeInteger(metadata.examples) && metadata.examples >= 1).toBe(true)
  expect(metadata.examples).toBeLessThanOrEqual(MAX_DEVICE_EXAMPLES)
  expect(Number.isSafeInteger(metadata.steps) && metadata.steps >= 0).toBe(true)
  expect(metadata.steps).toBeLessThanOrEqual(MAX_UPDATE_STEPS)
  expect(metadata.baseModel).toMatch(/^[0-9a-f]{64}$/)
}

// ---- hostile values ----------------------------------------------------------------------

/**
 * Values no field of these schemas accepts (free-form records aside): non-finite numbers (not
 * JSON, but the simulator and tests call the parsers directly), an array nested a few thousand
 * deep, and an object with a key no schema knows. A parser handed one must name its field.
 */
const neverValid = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity),
  fc.integer({ min: 100, max: 5000 }).map(nested),
  fc.constant({ '(fuzz)': 1 }),
)

/** Anything an attacker might try in a field: wrong types, edges and beyond, huge, deep. */
const hostile = fc.oneof(
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

// ---- the properties ----------------------------------------------------------------------

interface Subject<T> {
  name: string
  schema: z.ZodType<T>
  valid: fc.Arbitrary<unknown>
  check: (value: T) => void
  /** Locations below which anything goes (a custom model's topology). */
  opaque?: (path: JsonPath) => boolean
  /** Parses an accepted value again as it is read back (the store's schema, for tasks). */
  reparse?: z.ZodType<T>
  /** Issues about the body as a whole, which name no field. */
  bodyIssues?: string[]
}

const insideTopology = (path: JsonPath) => path[0] === 'model' && path[1] === 'topology'

const subjects: Subject<unknown>[] = [
  {
    name: 'TaskSpecSchema',
    schema: TaskSpecSchema,
    valid: validSpec,
    check: checkSpec,
    opaque: insideTopology,
    reparse: StoredTaskSpecSchema,
  },
  {
    name: 'TaskPatchSchema',
    schema: TaskPatchSchema,
    valid: validPatch,
    check: checkPatch,
    bodyIssues: ['nothing to change'],
  },
  { name: 'EnrolRequestSchema', schema: EnrolRequestSchema, valid: validEnrol, check: () => {} },
  {
    name: 'CheckinRequestSchema',
    schema: CheckinRequestSchema,
    valid: validCheckin,
    check: checkCheckin,
  },
  {
    name: 'UpdateMetadataSchema',
    schema: UpdateMetadataSchema,
    valid: validMetadata,
    check: checkMetadata,
  },
] as Subject<unknown>[]

/** What the coordinator stores and reads back: JSON, so −0 is 0 and undefined keys vanish. */
const asStored = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

/**
 * Parses `input` as the API does; the parser must not throw. Accepted: the bounds hold and it is
 * idempotent. Refused: every issue names a field, and one in an object body is never the body.
 */
function parse<T>(subject: Subject<T>, input: unknown) {
  const result = subject.schema.safeParse(input)
  if (result.success) {
    subject.check(result.data)
    const stored = asStored(result.data)
    for (const schema of [subject.schema, subject.reparse ?? subject.schema]) {
      const again = schema.safeParse(stored)
      expect(again.success, JSON.stringify(again.error?.issues)).toBe(true)
      expect(asStored(again.data)).toEqual(stored)
    }
    return { accepted: true as const, fields: [] }
  }
  const issues = describeIssues(result.error)
  expect(issues.length).toBeGreaterThan(0)
  const body = typeof input === 'object' && input !== null && !Array.isArray(input)
  for (const issue of issues) {
    expect(issue.field.length).toBeGreaterThan(0)
    expect(issue.message.length).toBeGreaterThan(0)
    if (body && !subject.bodyIssues?.includes(issue.message)) expect(issue.field).not.toBe('(body)')
  }
  return { accepted: false as const, fields: issues.map((i) => i.field) }
}

/** `field` is `at` or lies inside it. */
const within = (field: string, at: JsonPath) =>
  field === fieldOf(at) || field.startsWith(`${fieldOf(at)}.`)

describe.each(subjects)('$name under fuzzing', (subject) => {
  const opaque = subject.opaque ?? (() => false)

  it('never throws on arbitrary JSON, and names the field of every issue', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => void parse(subject, input)),
      params,
    )
  })

  it('accepts every valid body, within its bounds, idempotently', () => {
    fc.assert(
      fc.property(subject.valid, (input) => {
        expect(parse(subject, input).accepted).toBe(true)
      }),
      params,
    )
  })

  it('survives one hostile value anywhere in a valid body', () => {
    const mutated = fc.tuple(subject.valid, fc.nat(), hostile).map(([body, i, value]) => {
      const paths = jsonPaths(body, opaque)
      return paths.length === 0 ? value : replaceAt(body, paths[i % paths.length]!, value)
    })
    fc.assert(
      fc.property(mutated, (input) => void parse(subject, input)),
      params,
    )
  })

  it('refuses a value no field accepts, naming that field', () => {
    const mutated = fc.tuple(subject.valid, fc.nat(), neverValid).map(([body, i, value]) => {
      // A free-form record takes any object: only what has a schema is asked to refuse.
      const paths = jsonPaths(body, opaque).filter((p) => !opaque(p))
      const at = paths[i % paths.length]!
      return { input: replaceAt(body, at, value), at }
    })
    fc.assert(
      fc.property(mutated, ({ input, at }) => {
        const { accepted, fields } = parse(subject, input)
        expect(accepted).toBe(false)
        expect(
          fields.some((f) => within(f, at)),
          `${fields.join(', ')} ∌ ${fieldOf(at)}`,
        ).toBe(true)
      }),
      params,
    )
  })

  it('refuses an unknown key in any of its objects, naming it', () => {
    const mutated = fc
      .tuple(
        subject.valid,
        fc.nat(),
        fc.oneof(
          fc.string().map((s) => `(fuzz)${s}`),
          fc.constantFrom('__proto__', 'constructor'),
        ),
      )
      .map(([body, i, key]) => {
        const objects = objectPaths(body, opaque).filter((p) => !opaque(p))
        const at = [...objects[i % objects.length]!, key]
        return { input: replaceAt(body, at, 1), at }
      })
    fc.assert(
      fc.property(mutated, ({ input, at }) => {
        const { accepted, fields } = parse(subject, input)
        expect(accepted).toBe(false)
        expect(fields).toContain(fieldOf(at))
      }),
      params,
    )
  })
})

describe('a custom model topology under fuzzing', () => {
  it('is refused, naming it, when nested deeper than the store could write back', () => {
    const deep = fc.tuple(validSpec, fc.integer({ min: 1, max: 100_000 })).map(([spec, depth]) => ({
      input: { ...spec, model: { preset: 'custom', topology: { deep: nested(depth) } } },
      depth,
    }))
    fc.assert(
      fc.property(deep, ({ input, depth }) => {
        const { accepted, fields } = parse(subjects[0]!, input)
        if (depth >= MAX_TOPOLOGY_DEPTH) expect(fields).toContain('model.topology')
        else expect(accepted || !fields.includes('model.topology')).toBe(true)
      }),
      { ...params, numRuns: Math.max(20, Math.ceil(RUNS / 10)) },
    )
  })
})
