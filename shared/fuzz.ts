import type fc from 'fast-check'
import { fieldName } from './protocol/errors.ts'

/**
 * Support for the property-based fuzz suites (`*.fuzz.test.ts`); no app code imports it.
 *
 * Cases per property come from POLLEN_FUZZ_RUNS (default: a budget that keeps `npm test` fast;
 * `npm run fuzz` sets a large one). fast-check prints the seed and path of a failure; set
 * POLLEN_FUZZ_SEED and POLLEN_FUZZ_PATH to those to replay it.
 */
export function fuzzRuns(defaultRuns: number): number {
  const runs = Number(process.env.POLLEN_FUZZ_RUNS ?? defaultRuns)
  if (!Number.isInteger(runs) || runs < 1)
    throw new RangeError(`POLLEN_FUZZ_RUNS must be a whole number of at least 1, not ${runs}`)
  return runs
}

/** fast-check's parameters for a property: `runs` cases, or the replay asked for. */
export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  const seed = process.env.POLLEN_FUZZ_SEED
  const path = process.env.POLLEN_FUZZ_PATH
  return {
    numRuns: runs,
    ...(seed !== undefined && seed !== '' ? { seed: Number(seed) } : {}),
    ...(path !== undefined && path !== '' ? { path } : {}),
  }
}

/** A JSON location: object keys and array indices from the root. */
export type JsonPath = (string | number)[]

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

/**
 * Every location inside `value` (not the root itself), depth first; `opaque(path)` true keeps
 * the walk out of what lies below `path` (a free-form record, say), though `path` itself is listed.
 */
export function jsonPaths(
  value: unknown,
  opaque: (path: JsonPath) => boolean = () => false,
  at: JsonPath = [],
): JsonPath[] {
  const out: JsonPath[] = at.length > 0 ? [at] : []
  if (at.length > 0 && opaque(at)) return out
  const children: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : isRecord(value)
      ? Object.entries(value)
      : []
  for (const [key, child] of children) out.push(...jsonPaths(child, opaque, [...at, key]))
  return out
}

/** The objects (not arrays) inside `value`, the root included when it is one. */
export function objectPaths(
  value: unknown,
  opaque: (path: JsonPath) => boolean = () => false,
): JsonPath[] {
  return [[], ...jsonPaths(value, opaque)].filter((path) => isRecord(valueAt(value, path)))
}

export function valueAt(value: unknown, path: JsonPath): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value)
}

/** A copy of `value` with `replacement` at `path` (which must exist, or be one key past it). */
export function replaceAt(value: unknown, path: JsonPath, replacement: unknown): unknown {
  if (path.length === 0) return replacement
  const [key, ...rest] = path as [string | number, ...JsonPath]
  const node = value as Record<string | number, unknown>
  const copy = (Array.isArray(node) ? [...node] : { ...node }) as Record<string | number, unknown>
  // defineProperty, not assignment: a key such as "__proto__" must become an own property.
  Object.defineProperty(copy, key, {
    value: replaceAt(node[key], rest, replacement),
    enumerable: true,
    writable: true,
    configurable: true,
  })
  return copy
}

/** A JSON path as API error bodies spell fields: `rounds.minReports`, `datasets.0.name`. */
export const fieldOf = (path: JsonPath) => fieldName(path)

/** Arrays nested `depth` deep around a number: what JSON.parse builds from "[[[…1…]]]". */
export function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

/** The constructors through which a decoder could allocate memory in proportion to a claim. */
const ALLOCATORS = [
  'ArrayBuffer',
  'Uint8Array',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigUint64Array',
  'BigInt64Array',
] as const

/**
 * Runs `run` with the typed-array and ArrayBuffer constructors watched, and says the largest
 * buffer it asked for (bytes) and what it returned or threw. A decoder that believes a length
 * in its input before checking it against the input's size shows up here, even when it then
 * fails; views onto existing buffers cost nothing and are not counted.
 */
export function watchAllocations<T>(run: () => T): {
  largest: number
  outcome: { ok: true; value: T } | { ok: false; error: unknown }
} {
  const global = globalThis as unknown as Record<string, unknown>
  const saved = ALLOCATORS.map((name) => [name, global[name] as new (...a: unknown[]) => object])
  let largest = 0
  for (const [name, Original] of saved as [string, new (...a: unknown[]) => object][]) {
    const bytesPer = (Original as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1
    const watched: object = new Proxy(Original, {
      construct(target, args: unknown[], newTarget) {
        if (typeof args[0] === 'number') largest = Math.max(largest, args[0] * bytesPer)
        return Reflect.construct(target, args, newTarget === watched ? target : newTarget) as object
      },
    })
    global[name] = watched
  }
  let outcome: { ok: true; value: T } | { ok: false; error: unknown }
  try {
    outcome = { ok: true, value: run() }
  } catch (error) {
    outcome = { ok: false, error }
  } finally {
    for (const [name, Original] of saved as [string, unknown][]) global[name] = Original
  }
  return { largest, outcome }
}
