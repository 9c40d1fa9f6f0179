// The Web Worker bench:compression times encodes in (bundled on the fly, run in Chromium): the
// container encoder the phone's worker runs, on right-shaped deltas, per codec. Imports shared/
// only, as a worker entry of the app does.
import { type Codec, encodeContainer } from '../shared/tensors/index.ts'
import { randomDeltas } from './deltas.ts'

export interface EncodeJob {
  layout: { name: string; shape: number[] }[]
  codecs: Codec[]
  repeats: number
}

/** Per codec: each timed encode's milliseconds (after one untimed warm-up) and its bytes. */
export type EncodeTimes = Record<string, { ms: number[]; bytes: number }>

export function timeEncodes({ layout, codecs, repeats }: EncodeJob): EncodeTimes {
  const metadata = { examples: 100, steps: 10, baseModel: '0'.repeat(64) }
  const out: EncodeTimes = {}
  for (const codec of codecs) {
    const ms: number[] = []
    let bytes = 0
    for (let r = 0; r <= repeats; r++) {
      const tensors = randomDeltas(layout, r + 1)
      const start = performance.now()
      bytes = encodeContainer({ tensors, metadata, codec, seed: r + 1 }).length
      if (r > 0) ms.push(performance.now() - start)
    }
    out[codec] = { ms, bytes }
  }
  return out
}

// In a worker (not when Node imports this file for its types): answer each job posted.
const scope = globalThis as unknown as {
  WorkerGlobalScope?: unknown
  onmessage: ((e: { data: EncodeJob }) => void) | null
  postMessage: (m: unknown) => void
}
if (scope.WorkerGlobalScope !== undefined)
  scope.onmessage = (e) => scope.postMessage(timeEncodes(e.data))
