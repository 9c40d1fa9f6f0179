// Decode-and-aggregate on the coordinator, per codec: the time to take one synet-sized update
// into a round's running sum, in process (no HTTP; `npm run bench:server -- --codec int8` gives
// uploads/s through the real coordinator).
//
//   npx tsx bench/decode-aggregate.ts [-- --updates 20] [-- --codecs float32,int8,bbit1]
//
// For each codec it encodes a few distinct deltas, then times, per update:
//   whole:    decodeContainer → l2Norm → RunningSum.add (a float32 copy of every compressed update,
//             what the coordinator did before issue 18's streaming);
//   streamed: readContainer (frames checked, norm from them) → RunningSum.add of the encoded
//             update, block by block (what admission and the mean do now).
// Median ms per update over `updates` additions of each; the heap growth is not measured here.
import { parseArgs } from 'node:util'
import { createRunningSum } from '../shared/aggregation/index.ts'
import { l2Norm } from '../shared/privacy/index.ts'
import {
  type Codec,
  CODECS,
  decodeContainer,
  encodeContainer,
  readContainer,
} from '../shared/tensors/index.ts'
import { randomDeltas } from './deltas.ts'

/** synet's tensors (1 199 882 parameters). */
const LAYOUT = [
  { name: 'conv1/kernel', shape: [3, 3, 1, 32] },
  { name: 'conv1/bias', shape: [32] },
  { name: 'conv2/kernel', shape: [3, 3, 32, 64] },
  { name: 'conv2/bias', shape: [64] },
  { name: 'fc1/kernel', shape: [9216, 128] },
  { name: 'fc1/bias', shape: [128] },
  { name: 'fc2/kernel', shape: [128, 10] },
  { name: 'fc2/bias', shape: [10] },
]
const BODIES = 4

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function timeEach(updates: number, bodies: Uint8Array[], add: (bytes: Uint8Array) => void) {
  const ms: number[] = []
  for (let i = 0; i < updates; i++) {
    const started = performance.now()
    add(bodies[i % bodies.length]!)
    ms.push(performance.now() - started)
  }
  return median(ms)
}

function main() {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      updates: { type: 'string', default: '20' },
      codecs: { type: 'string', default: CODECS.join(',') },
    },
  })
  const updates = Number(values.updates)
  if (!Number.isSafeInteger(updates) || updates < 1 || updates > 10_000)
    throw new Error(`--updates takes a whole number in [1, 10000], got ${values.updates}`)
  const codecs = values.codecs.split(',') as Codec[]
  for (const c of codecs) if (!CODECS.includes(c)) throw new Error(`--codecs: no codec ${c}`)
  const deltas = Array.from({ length: BODIES }, (_, k) => randomDeltas(LAYOUT, k + 1))
  console.log('| codec | bytes | whole ms/update | streamed ms/update | updates/s streamed |')
  console.log('|---|---:|---:|---:|---:|')
  for (const codec of codecs) {
    const bodies = deltas.map((tensors, k) => encodeContainer({ tensors, codec, seed: k + 1 }))
    const whole = createRunningSum(LAYOUT)
    const streamed = createRunningSum(LAYOUT)
    const wholeMs = timeEach(updates, bodies, (bytes) => {
      const { tensors } = decodeContainer(bytes)
      if (!Number.isFinite(l2Norm(tensors))) throw new Error('not finite')
      whole.add(tensors, 1)
    })
    const streamedMs = timeEach(updates, bodies, (bytes) => {
      streamed.add(readContainer(bytes).tensors, 1)
    })
    const perSecond = Math.round(1000 / streamedMs)
    console.log(
      `| ${codec} | ${bodies[0]!.length} | ${wholeMs.toFixed(2)} | ${streamedMs.toFixed(2)} | ${perSecond} |`,
    )
  }
}

main()
