// What bench:accuracy reports: rounds to each target accuracy, the comparison with the PyTorch
// reference, the curves as CSV, and an SVG of the curves side by side (drawn here, no libraries).
import type { RoundResult } from './fedavg.ts'

export interface Curve {
  /** The partition's name as given (iid, classes:2, dirichlet:0.5). */
  partition: string
  side: 'pollen' | 'pytorch'
  rounds: RoundResult[]
}

/** The first round (1-based) whose held-out accuracy reaches `target`, or null if none did. */
export function roundsTo(rounds: readonly RoundResult[], target: number): number | null {
  return rounds.find((r) => r.accuracy >= target)?.round ?? null
}

/**
 * Whether Pollen's rounds to a target are within `tolerance` (0.25: 25%) of the reference's; null
 * when the reference never reached it (nothing to compare with). Not reaching a target the
 * reference reached is outside.
 */
export function within(pollen: number | null, reference: number | null, tolerance: number) {
  if (reference === null) return null
  if (pollen === null) return false
  return Math.abs(pollen - reference) <= tolerance * reference
}

/** One CSV row per round and partition: both sides' accuracy, loss and seconds. */
export function curvesCsv(curves: readonly Curve[]): string {
  const rows = ['partition,round,side,accuracy,loss,train_seconds,eval_seconds']
  for (const c of curves)
    for (const r of c.rounds)
      rows.push(
        [
          c.partition,
          r.round,
          c.side,
          r.accuracy.toFixed(4),
          r.loss.toFixed(4),
          r.trainSeconds.toFixed(3),
          r.evalSeconds.toFixed(3),
        ].join(','),
      )
  return rows.join('\n') + '\n'
}

const COLOURS = { pollen: '#d9822b', pytorch: '#2b6cb0' }
const escape = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * One panel per partition, side by side: held-out accuracy (y) by round (x) for both sides,
 * with the targets drawn as dashed lines. The y axis starts at `floor` so the curves' tops show.
 */
export function curvesSvg(
  curves: readonly Curve[],
  { targets, title, floor = 0.5 }: { targets: readonly number[]; title: string; floor?: number },
): string {
  const partitions = [...new Set(curves.map((c) => c.partition))]
  const W = 420
  const H = 300
  const pad = { left: 48, right: 12, top: 40, bottom: 40 }
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W * partitions.length}" height="${H + 24}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="16" font-size="13">${escape(title)}</text>`,
  ]
  partitions.forEach((partition, p) => {
    const mine = curves.filter((c) => c.partition === partition)
    const last = Math.max(1, ...mine.flatMap((c) => c.rounds.map((r) => r.round)))
    const x0 = p * W + pad.left
    const x1 = (p + 1) * W - pad.right
    const y0 = H - pad.bottom + 24
    const y1 = pad.top
    const x = (round: number) => x0 + ((x1 - x0) * round) / last
    const y = (acc: number) => y0 - ((y0 - y1) * (Math.max(acc, floor) - floor)) / (1 - floor)
    out.push(
      `<text x="${x0}" y="${y1 - 8}" font-weight="bold">${escape(partition)}</text>`,
      `<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="black"/>`,
      `<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="black"/>`,
      `<text x="${(x0 + x1) / 2}" y="${y0 + 30}" text-anchor="middle">round</text>`,
    )
    for (let k = 0; k <= 5; k++) {
      const acc = floor + ((1 - floor) * k) / 5
      out.push(
        `<text x="${x0 - 6}" y="${y(acc) + 4}" text-anchor="end">${acc.toFixed(2)}</text>`,
        `<line x1="${x0}" y1="${y(acc)}" x2="${x1}" y2="${y(acc)}" stroke="#eee"/>`,
      )
    }
    for (let k = 0; k <= 4; k++) {
      const round = Math.round((last * k) / 4)
      out.push(`<text x="${x(round)}" y="${y0 + 15}" text-anchor="middle">${round}</text>`)
    }
    for (const t of targets)
      out.push(
        `<line x1="${x0}" y1="${y(t)}" x2="${x1}" y2="${y(t)}" stroke="#999" stroke-dasharray="4 3"/>`,
      )
    mine.forEach((c, i) => {
      const points = c.rounds.map((r) => `${x(r.round).toFixed(1)},${y(r.accuracy).toFixed(1)}`)
      const colour = COLOURS[c.side]
      out.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points.join(' ')}"/>`,
        `<text x="${x1 - 4}" y="${y0 - 10 - 16 * i}" text-anchor="end" fill="${colour}">${c.side}</text>`,
      )
    })
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
