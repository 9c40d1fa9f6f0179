// What bench:compression reports: per model, dataset and codec, bytes per round against float32's
// and the accuracy after the same rounds; and the timings per update.
import type { DownloadEncoding } from '../shared/protocol/index.ts'
import type { Codec } from '../shared/tensors/index.ts'
import type { CodecRun } from './compression-run.ts'
import type { Timing } from './compression-timing.ts'

/** The goal: at least 16× fewer upload bytes, at most 0.5 points lost (1-bit: 1.5). */
export const GOAL_RATIO = 16
export const allowedLoss = (codec: Codec): number => (codec === 'bbit1' ? 1.5 : 0.5)

export interface Row {
  model: string
  dataset: string
  codec: Codec
  download: DownloadEncoding
  rounds: number
  /** Mean bytes per committed round. */
  bytesUp: number
  bytesDown: number
  /** float32's bytes up per round over this run's (null: no float32 run to compare). */
  upRatio: number | null
  downRatio: number | null
  /** Held-out accuracy after the last round. */
  accuracy: number | null
  /** float32's accuracy less this codec's, in points (positive: lost). */
  lossPoints: number | null
  /** Whether the codec reaches 16× and stays within its allowed loss; null below 16×. */
  goal: boolean | null
}

const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)

export function summarise(runs: readonly CodecRun[]): Row[] {
  const perRound = (run: CodecRun) => {
    const committed = run.rounds.filter((r) => r.status === 'committed')
    return {
      up: mean(committed.map((r) => r.bytesUp)),
      down: mean(committed.map((r) => r.bytesDown)),
      accuracy: run.rounds.at(-1)?.accuracy ?? null,
    }
  }
  return runs.map((run) => {
    const mine = perRound(run)
    const base = runs.find(
      (r) =>
        r.model === run.model &&
        r.dataset === run.dataset &&
        r.codec === 'float32' &&
        r.download === 'float32',
    )
    const ref = base ? perRound(base) : null
    const upRatio = ref && mine.up > 0 ? ref.up / mine.up : null
    const lossPoints =
      ref?.accuracy != null && mine.accuracy !== null ? 100 * (ref.accuracy - mine.accuracy) : null
    return {
      model: run.model,
      dataset: run.dataset,
      codec: run.codec,
      download: run.download,
      rounds: run.rounds.length,
      bytesUp: mine.up,
      bytesDown: mine.down,
      upRatio,
      downRatio: ref && mine.down > 0 ? ref.down / mine.down : null,
      accuracy: mine.accuracy,
      lossPoints,
      goal:
        upRatio === null || upRatio < GOAL_RATIO || lossPoints === null
          ? null
          : lossPoints <= allowedLoss(run.codec),
    }
  })
}

const fixed = (n: number | null, d: number) => (n === null ? '–' : n.toFixed(d))
const kB = (n: number) => (n / 1000).toFixed(1)

export function accuracyTable(rows: readonly Row[]): string {
  const lines = [
    '| model | dataset | upload codec | kB up/round | × fewer | model served | kB down/round | × fewer | accuracy | points lost | goal |',
    '| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | :---: |',
  ]
  for (const r of rows)
    lines.push(
      `| ${r.model} | ${r.dataset} | ${r.codec} | ${kB(r.bytesUp)} | ${fixed(r.upRatio, 1)} | ` +
        `${r.download} | ${kB(r.bytesDown)} | ${fixed(r.downRatio, 1)} | ` +
        `${fixed(r.accuracy, 4)} | ${fixed(r.lossPoints, 2)} | ` +
        `${r.goal === null ? '–' : r.goal ? 'yes' : 'NO'} |`,
    )
  return lines.join('\n')
}

export function timingTable(timings: readonly Timing[]): string {
  const lines = [
    '| update | codec | bytes | encode, Chromium worker (ms, median (min–max)) | encode, Node (ms) | decode + aggregate, coordinator (ms) |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ]
  /** The median, and the fastest–slowest repeat beside it. */
  const spread = (ms: number | null, r: [number, number] | null) =>
    ms === null || r === null ? '–' : `${ms.toFixed(1)} (${r[0].toFixed(1)}–${r[1].toFixed(1)})`
  for (const t of timings)
    lines.push(
      `| ${t.model} | ${t.codec} | ${t.bytes} | ${spread(t.chromiumEncodeMs, t.chromiumEncodeRange)} | ` +
        `${spread(t.nodeEncodeMs, t.nodeEncodeRange)} | ` +
        `${spread(t.nodeDecodeAggregateMs, t.nodeDecodeAggregateRange)} |`,
    )
  return lines.join('\n')
}
