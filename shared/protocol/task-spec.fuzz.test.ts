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
  isPrivate,
  MAX_TASK_SEED,
  MAX_TOPOLOGY_DEPTH,
  SECURE_MIN_PARTICIPANTS,
  selectedPerRound,
  TaskPatchSchema,
  TaskSpecSchema,
  StoredTaskSpecSchema,
  type TaskPatch,
  type TaskSpec,
} from './task.ts'
import {
  hostile,
  neverValid,
  validCheckin,
  validEnrol,
  validMetadata,
  validPatch,
  validSpec,
} from './fuzz-bodies.ts'

/**
 * What an admin or a device may send the coordinator's JSON parsers: arbitrary JSON, and valid
 * bodies with one thing made hostile. The parsers must never throw, must name the field of every
 * issue, must accept only what satisfies the bounds the rest of the coordinator counts on, and
 * must be idempotent (what they return parses again to itself, as the store reads it back).
 */
const RUNS = fuzzRuns(200)
const params = fuzzParameters(RUNS)

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
