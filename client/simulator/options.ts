// `npm run sim`'s command line: every flag bounded where it is read, each refusal naming the flag.
import { parseArgs } from 'node:util'
import { DatasetNameSchema } from '../../shared/protocol/datasets.ts'
import { type Partition, parsePartition, PARTITION_SYNTAX } from '../../shared/data/partition.ts'
import { type Codec, CODECS } from '../../shared/tensors/index.ts'

export const MAX_CLIENTS = 1000
export const MAX_FILES = 16

export const usage = `npm run sim -- [options]

Simulated phones (the device runtime, headless) training against a running coordinator.

  --server URL           the coordinator (default http://localhost:$PORT or 8080)
  --clients N            devices (default 10; 1..${MAX_CLIENTS})
  --dataset NAME         the declared dataset the devices hold (default mnist: the built-in demo)
  --from FILE…           its examples: two IDX files (gzipped or not), one CSV, one zip of images
                         or one folder of images, one folder per class; required with a --dataset
                         other than mnist, whose spec (shape, classes) the coordinator gives
  --shards HOW           how the examples are dealt: ${PARTITION_SYNTAX} (default iid)
  --partition iid|noniid the older spelling: noniid is classes:2
  --slow FRACTION        share of devices 5–10× slower (default 0)
  --drop FRACTION        probability a device drops an assignment (default 0)
  --seed N               sharding and the simulated faults (default 1; 0..2^32-1)
  --codec NAME[,NAME…]   the upload codec devices wish for, device i the (i mod n)-th listed:
                         ${CODECS.join(', ')} (default float32); a task that does
                         not accept it gets float32, else its first listed
  --help`

export interface SimOptions {
  server: string
  clients: number
  dataset: string
  /** Files to read the examples from; empty: the built-in MNIST file. */
  from: string[]
  shards: Partition
  slow: number
  drop: number
  seed: number
  /** The codecs devices wish to upload in, in turn (device i: the (i mod n)-th). */
  codecs: Codec[]
  help: boolean
}

function fraction(name: string, value: string | undefined): number {
  if (value === undefined) return 0
  const n = value.trim() === '' ? NaN : Number(value)
  if (!(n >= 0 && n <= 1))
    throw new RangeError(`--${name} must be a fraction between 0 and 1, got ${value}`)
  return n
}

function wholeNumber(name: string, value: string, min: number, max: number): number {
  const n = value.trim() === '' ? NaN : Number(value)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`--${name} must be a whole number from ${min} to ${max}, got ${value}`)
  return n
}

/** `--codec`'s comma-separated list: each a known codec, none twice. */
function codecList(value: string): Codec[] {
  const names = value.split(',').map((n) => n.trim())
  for (const name of names)
    if (!(CODECS as readonly string[]).includes(name))
      throw new RangeError(`--codec must name codecs among ${CODECS.join(', ')}, got '${name}'`)
  if (new Set(names).size !== names.length)
    throw new RangeError(`--codec names a codec twice: '${value}'`)
  return names as Codec[]
}

function serverUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new RangeError(`--server must be an http(s) URL, got '${value}'`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RangeError(`--server must be an http(s) URL, got '${value}'`)
  return value.replace(/\/+$/, '')
}

/**
 * `--from` takes every following argument up to the next flag (a shell glob expands to several),
 * so they are collected here before parseArgs sees the rest.
 */
function splitFrom(args: readonly string[]): { rest: string[]; from: string[] | null } {
  const at = args.indexOf('--from')
  if (at < 0) return { rest: [...args], from: null }
  let end = at + 1
  while (end < args.length && !args[end]!.startsWith('--')) end++
  const from = args.slice(at + 1, end)
  const rest = [...args.slice(0, at), ...args.slice(end)]
  if (rest.includes('--from')) throw new RangeError('--from may be given once, with all its files')
  return { rest, from }
}

export function parseSimOptions(args: readonly string[]): SimOptions {
  const { rest, from } = splitFrom(args)
  const { values } = parseArgs({
    args: rest,
    strict: true,
    allowPositionals: false,
    options: {
      server: { type: 'string', default: `http://localhost:${process.env.PORT ?? 8080}` },
      clients: { type: 'string', default: '10' },
      dataset: { type: 'string', default: 'mnist' },
      shards: { type: 'string' },
      partition: { type: 'string' },
      slow: { type: 'string' },
      drop: { type: 'string' },
      seed: { type: 'string', default: '1' },
      codec: { type: 'string', default: 'float32' },
      help: { type: 'boolean', default: false },
    },
  })
  const name = DatasetNameSchema.safeParse(values.dataset)
  if (!name.success)
    throw new RangeError(
      `--dataset must be a dataset's name (letters, digits, "_", "." and "-", 1 to 100), got '${values.dataset}'`,
    )
  if (from !== null && (from.length < 1 || from.length > MAX_FILES))
    throw new RangeError(
      `--from must name 1 to ${MAX_FILES} files or one folder, got ${from.length}`,
    )
  if (name.data !== 'mnist' && from === null)
    throw new RangeError(`--dataset ${name.data} needs --from FILE… (its examples)`)
  if (values.shards !== undefined && values.partition !== undefined)
    throw new RangeError('give --shards or --partition, not both')
  let shards: Partition = { kind: 'iid' }
  if (values.shards !== undefined) shards = parsePartition(values.shards, '--shards')
  else if (values.partition !== undefined) {
    if (values.partition !== 'iid' && values.partition !== 'noniid')
      throw new RangeError(`--partition must be iid or noniid, got ${values.partition}`)
    shards = values.partition === 'iid' ? { kind: 'iid' } : { kind: 'classes', perDevice: 2 }
  }
  return {
    server: serverUrl(values.server),
    clients: wholeNumber('clients', values.clients, 1, MAX_CLIENTS),
    dataset: name.data,
    from: from ?? [],
    shards,
    slow: fraction('slow', values.slow),
    drop: fraction('drop', values.drop),
    seed: wholeNumber('seed', values.seed, 0, 2 ** 32 - 1),
    codecs: codecList(values.codec),
    help: values.help,
  }
}
