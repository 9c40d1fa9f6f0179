// What SecAgg+ costs a device and the coordinator, by round size and dropout rate.
//
//   npm run bench:secagg [-- --json FILE] [-- --sizes 10,100,500] [-- --dropouts 0,10,30]
//                        [-- --length 100000] [-- --seed 1]
//
// Each cell runs one whole round in this process through the real API (shared/secagg): every
// device creates its keys, shares, masks a random vector of `length` entries in [−1, 1] and
// reveals; the coordinator validates, routes and unmasks. Dropouts leave after sharing, before
// sending their masked input: the expensive case, where the server rebuilds each one's mask key
// and recomputes its pairwise masks with every surviving neighbour. The server is told the
// dropout rate it should expect (it sizes the graph from it). Devices run one after another, each
// with the machine to itself, so a device's time is its own wall time (WebCrypto uses the thread
// pool: both cores). Bytes are the JSON messages and views, and the PSA1 frame of the masked
// vector, as they would cross HTTP. The sum is checked against the plain sum of the survivors.
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { mulberry32, shuffleInPlace } from '../shared/data/index.ts'
import {
  createSecAggClient,
  createSecAggRound,
  decodeMaskedUpdate,
  encodeMaskedUpdate,
  quantizationError,
  type SecAggClient,
  type SecAggView,
} from '../shared/secagg/index.ts'

const RANGE = 1

/**
 * The published SecAgg figures at 500 clients × 100,000 entries (Bonawitz et al., "Practical
 * Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017, evaluation section:
 * their Java prototype, complete graph, one process). Client time does not depend on dropouts.
 */
const PUBLISHED: Record<number, { clientSeconds: number; serverSeconds: number }> = {
  0: { clientSeconds: 0.85, serverSeconds: 2 },
  10: { clientSeconds: 0.85, serverSeconds: 62 },
}

interface Row {
  devices: number
  dropoutPercent: number
  dropped: number
  degree: number
  threshold: number
  clientMedianMs: number
  upMedianKB: number
  downMedianKB: number
  unmaskSeconds: number
  serverSeconds: number
  /** Largest entry error of the unmasked sum over the quantization bound (≤ 1 is correct). */
  errorOverBound: number
  wallSeconds: number
}

function options() {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      sizes: { type: 'string', default: '10,100,500' },
      dropouts: { type: 'string', default: '0,10,30' },
      length: { type: 'string', default: '100000' },
      seed: { type: 'string', default: '1' },
    },
  })
  const list = (name: string, text: string, ok: (x: number) => boolean) =>
    text.split(',').map((part) => {
      const x = Number(part)
      if (!ok(x)) throw new Error(`--${name}: '${part}' is not allowed`)
      return x
    })
  const sizes = list('sizes', values.sizes, (x) => Number.isInteger(x) && x >= 3 && x <= 5000)
  const dropouts = list('dropouts', values.dropouts, (x) => x >= 0 && x < 100)
  const length = Number(values.length)
  if (!Number.isInteger(length) || length < 1)
    throw new Error(`--length must be a whole number of at least 1, got ${values.length}`)
  const seed = Number(values.seed)
  if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got ${values.seed}`)
  return { json: values.json, sizes, dropouts, length, seed }
}

const bytesOf = (x: unknown) => new TextEncoder().encode(JSON.stringify(x)).length

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** A device's vector, the same whenever asked for. */
const vectorOf = (index: number, length: number, seed: number) => {
  const random = mulberry32(seed * 100_003 + index)
  return Float32Array.from({ length }, () => (random() * 2 - 1) * RANGE)
}

function narrow<S extends 'share' | 'collect' | 'unmask'>(view: SecAggView, stage: S) {
  if (view.stage !== stage || view.waiting) throw new Error(`expected ${stage}, got ${view.stage}`)
  return view as Extract<SecAggView, { stage: S; waiting: false }>
}

async function runCell(devices: number, dropoutPercent: number, length: number, seed: number) {
  const started = performance.now()
  const ids = Array.from({ length: devices }, (_, i) => `device-${String(i).padStart(4, '0')}`)
  const round = createSecAggRound({
    length,
    range: RANGE,
    dropoutRate: dropoutPercent / 100,
    random: mulberry32(seed),
  })
  let serverMs = 0
  const server = <T>(call: () => T): T => {
    const t = performance.now()
    const result = call()
    serverMs += performance.now() - t
    return result
  }
  const clientMs = new Map(ids.map((id) => [id, 0]))
  const device = async <T>(id: string, call: () => Promise<T> | T): Promise<T> => {
    const t = performance.now()
    const result = await call()
    clientMs.set(id, clientMs.get(id)! + performance.now() - t)
    return result
  }
  const up = new Map(ids.map((id) => [id, 0]))
  const down = new Map(ids.map((id) => [id, 0]))
  const add = (map: Map<string, number>, id: string, bytes: number) =>
    map.set(id, map.get(id)! + bytes)
  const view = (id: string) => {
    const v = server(() => round.view(id))
    add(down, id, bytesOf(v))
    return v
  }

  // advertise
  const clients = new Map<string, SecAggClient>()
  for (const id of ids) {
    const keys = await device(id, async () => {
      const client = await createSecAggClient(id)
      clients.set(id, client)
      return client.keys()
    })
    add(up, id, bytesOf(keys))
    server(() => round.advertise(id, keys))
  }
  server(() => round.closeAdvertise())
  const { degree, threshold, scale } = round.config!

  // share
  for (const id of ids) {
    const shareView = narrow(view(id), 'share')
    const message = await device(id, () => clients.get(id)!.share(shareView))
    add(up, id, bytesOf(message))
    server(() => round.share(id, message))
  }

  // collect: the dropouts leave now, having shared
  const order = shuffleInPlace([...ids], mulberry32(seed + 1))
  const droppedCount = Math.round((devices * dropoutPercent) / 100)
  const dropped = new Set(order.slice(0, droppedCount))
  const survivors = ids.filter((id) => !dropped.has(id))
  const plain = new Float64Array(length)
  for (const id of survivors) {
    const collectView = narrow(view(id), 'collect')
    const vector = vectorOf(ids.indexOf(id), length, seed)
    for (let i = 0; i < length; i++) plain[i]! += vector[i]!
    const frame = await device(id, async () => {
      const masked = await clients.get(id)!.mask(collectView, vector)
      return encodeMaskedUpdate({ metadata: { device: id }, masked })
    })
    add(up, id, frame.length)
    server(() => round.collect(id, decodeMaskedUpdate(frame, { expectedLength: length }).masked))
  }
  if (round.stage === 'collect') server(() => round.closeCollect())

  // unmask
  for (const id of survivors) {
    const unmaskView = narrow(view(id), 'unmask')
    const message = await device(id, () => clients.get(id)!.reveal(unmaskView))
    add(up, id, bytesOf(message))
    server(() => round.reveal(id, message))
  }
  const t = performance.now()
  const result = await round.finish()
  const unmaskMs = performance.now() - t
  serverMs += unmaskMs

  let worst = 0
  for (let i = 0; i < length; i++) worst = Math.max(worst, Math.abs(result.sum[i]! - plain[i]!))
  const row: Row = {
    devices,
    dropoutPercent,
    dropped: droppedCount,
    degree,
    threshold,
    clientMedianMs: round1(median(survivors.map((id) => clientMs.get(id)!))),
    upMedianKB: round1(median(survivors.map((id) => up.get(id)!)) / 1024),
    downMedianKB: round1(median(survivors.map((id) => down.get(id)!)) / 1024),
    unmaskSeconds: round2(unmaskMs / 1000),
    serverSeconds: round2(serverMs / 1000),
    errorOverBound: round2(worst / quantizationError(result.count, scale)),
    wallSeconds: round1((performance.now() - started) / 1000),
  }
  if (row.errorOverBound > 1) throw new Error(`the unmasked sum is off: ${JSON.stringify(row)}`)
  return row
}

const round1 = (x: number) => Math.round(x * 10) / 10
const round2 = (x: number) => Math.round(x * 100) / 100

async function main() {
  const { json, sizes, dropouts, length, seed } = options()
  const started = performance.now()
  const rows: Row[] = []
  for (const devices of sizes)
    for (const dropoutPercent of dropouts) {
      const row = await runCell(devices, dropoutPercent, length, seed)
      rows.push(row)
      console.error(
        `${devices} devices, ${dropoutPercent}% dropped: k=${row.degree}, ${row.wallSeconds} s`,
      )
    }
  const totalSeconds = round1((performance.now() - started) / 1000)

  console.log(
    `\nSecAgg+ per round, ${length.toLocaleString('en')} entries, dropouts after sharing\n`,
  )
  console.log(
    '| devices | dropped | k | t | device ms (median) | up KB | down KB | server unmask s | server total s | error/bound | published (Bonawitz 2017) |',
  )
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
  for (const r of rows) {
    const published =
      r.devices === 500 && length === 100_000 ? PUBLISHED[r.dropoutPercent] : undefined
    const reference = published
      ? `device ${published.clientSeconds} s, server ${published.serverSeconds} s`
      : '–'
    console.log(
      `| ${r.devices} | ${r.dropoutPercent}% (${r.dropped}) | ${r.degree} | ${r.threshold} | ${r.clientMedianMs} | ${r.upMedianKB} | ${r.downMedianKB} | ${r.unmaskSeconds} | ${r.serverSeconds} | ${r.errorOverBound} | ${reference} |`,
    )
  }
  console.log(
    '\nPublished: Bonawitz et al., CCS 2017, evaluation of SecAgg (complete graph, Java prototype),',
  )
  console.log(
    '500 clients × 100,000 entries; no figure there for 30%. Whole run: ' + totalSeconds + ' s.',
  )
  if (json) {
    await writeFile(json, JSON.stringify({ length, seed, totalSeconds, rows }, null, 2) + '\n')
    console.log(`\nJSON written to ${json}`)
  }
}

await main()
