// bench:scale's command line: what to run, bounded where it is parsed.
import { parseArgs } from 'node:util'
import type { ModelChoice, Store } from './scale-run.ts'

export interface Options {
  devices: number
  select: number
  rounds: number
  stores: Store[]
  replicas: number[]
  /** Requests in flight; with several, round k runs at the k-th (cycling), to show saturation. */
  concurrency: number[]
  model: ModelChoice
  databaseCores: number
  json: string | undefined
}

const QUICK = { devices: 1000, select: 100, rounds: 2, concurrency: '32' }
const FULL = { devices: 10_000, select: 1000, rounds: 3, concurrency: '8,32,128' }

/** A positive integer within [1, max], named in the error. */
function positive(name: string, text: string, max: number): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1 || n > max)
    throw new Error(`--${name} takes an integer from 1 to ${max}, got ${JSON.stringify(text)}`)
  return n
}

export function readOptions(argv: string[]): Options {
  const { values } = parseArgs({
    // `npm run bench:scale -- --json F -- --quick` passes the second `--` through: skip it.
    args: argv.filter((arg) => arg !== '--'),
    options: {
      quick: { type: 'boolean', default: false },
      devices: { type: 'string' },
      select: { type: 'string' },
      rounds: { type: 'string' },
      store: { type: 'string', default: 'both' },
      replicas: { type: 'string', default: '1,3' },
      concurrency: { type: 'string' },
      model: { type: 'string', default: 'tiny' },
      'database-cores': { type: 'string', default: '8' },
      json: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  })
  const base = values.quick ? QUICK : FULL
  const devices = positive('devices', values.devices ?? String(base.devices), 1_000_000)
  const select = positive('select', values.select ?? String(base.select), 10_000)
  if (select > devices)
    throw new Error(`--select (${select}) must be at most --devices (${devices})`)
  const store = values.store
  if (store !== 'both' && store !== 'pglite' && store !== 'postgres')
    throw new Error(`--store takes both, pglite or postgres, got ${JSON.stringify(store)}`)
  const model = values.model
  if (model !== 'tiny' && model !== 'mnist-2nn')
    throw new Error(`--model takes tiny or mnist-2nn, got ${JSON.stringify(model)}`)
  const rounds = positive('rounds', values.rounds ?? String(base.rounds), 1000)
  const concurrency = (values.concurrency ?? base.concurrency)
    .split(',')
    .map((s) => positive('concurrency', s.trim(), 4096))
  if (concurrency.length > rounds)
    throw new Error(
      `--rounds (${rounds}) must be at least the number of --concurrency levels (${concurrency.length}): each round runs at one`,
    )
  return {
    devices,
    select,
    rounds,
    stores: store === 'both' ? ['pglite', 'postgres'] : [store],
    replicas: values.replicas.split(',').map((s) => positive('replicas', s.trim(), 32)),
    concurrency,
    model,
    databaseCores: positive('database-cores', values['database-cores'], 1024),
    json: values.json,
  }
}
