// The task's charts, drawn by uPlot: built once per task shown, fed new columns on every update
// (no re-creation, so a live round redraws in a millisecond), resized with their card.
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { RoundView } from '../../../shared/protocol/index.ts'
import { h } from '../../ui/dom.ts'
import { bytes, clock, fraction } from '../format.ts'
import {
  accuracyByRound,
  accuracyByTime,
  bytesByRound,
  fromZero,
  lossByRound,
  SPEED_TIERS,
  tierName,
  tierShareByRound,
  trainingByRound,
  waitingByRound,
  type Columns,
} from './data.ts'

const COLORS = {
  accuracy: '#1e6b3a',
  loss: '#b3261e',
  training: '#5a7bd8',
  duration: '#8a6400',
  waiting: '#8d8d80',
  up: '#1f3d2b',
  down: '#5a7bd8',
  tiers: ['#1e6b3a', '#8a6400', '#b3261e', '#8d8d80'],
}

interface ChartSpec {
  id: string
  title: string
  shape: (rounds: readonly RoundView[]) => Columns
  options: () => Omit<uPlot.Options, 'width' | 'height'>
  /** The latest values in words: the canvas says nothing to a screen reader. */
  describe: (data: Columns) => string
}

/** Every axis says what it measures and in what unit. */
const axis = (label: string, more: uPlot.Axis = {}): uPlot.Axis => ({
  label,
  labelSize: 20,
  labelFont: '600 12px system-ui, sans-serif',
  ...more,
})
const roundAxis = axis('round', { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] })
const percentAxis = (label: string) =>
  axis(label, { values: (_, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`), size: 50 })
const secondsAxis = (label: string) =>
  axis(label, { values: (_, ticks) => ticks.map((t) => `${t}`), size: 50 })
/** From 0 to above the largest value: a quantity's size, not its wiggle. */
const zeroUp: uPlot.Scale['range'] = (_, _min, max) => fromZero(max)
const last = <T>(values: readonly T[]) => values[values.length - 1]
const lineSeries = (label: string, stroke: string, scale = 'y', value?: uPlot.Series['value']) => ({
  label,
  stroke,
  width: 2,
  scale,
  spanGaps: false,
  points: { show: true, size: 5 },
  ...(value ? { value } : {}),
})
const barSeries = (label: string, color: string): uPlot.Series => ({
  label,
  stroke: color,
  fill: `${color}55`,
  paths: uPlot.paths.bars!({ size: [0.6, 40] }),
  points: { show: false },
  value: (_, v) => (v == null ? '–' : `${v.toFixed(1)} s`),
})
const lossValue = (_: uPlot, v: number | null) => (v == null ? '–' : v.toFixed(3))
// Half a round of room either side, so the first and last bars are whole.
const barRounds: uPlot.Scale = { time: false, range: (_, min, max) => [min - 0.5, max + 0.5] }

function latest(data: Columns, names: string[], format: (v: number | null | undefined) => string) {
  return names.map((name, i) => `${name} ${format(last(data[i + 1] ?? []))}`).join(', ')
}
const seconds = (v: number | null | undefined) => (v == null ? '–' : `${v.toFixed(1)} s`)
const loss = (v: number | null | undefined) => (v == null ? '–' : v.toFixed(3))

const SPECS: ChartSpec[] = [
  {
    id: 'metrics-round',
    title: 'Held-out accuracy by round',
    shape: accuracyByRound,
    options: () => ({
      scales: { x: { time: false }, y: { range: [0, 1] } },
      axes: [roundAxis, percentAxis('held-out accuracy (%)')],
      series: [
        { label: 'round' },
        lineSeries('accuracy', COLORS.accuracy, 'y', (_, v) => fraction(v)),
      ],
    }),
    describe: (d) => `Round ${last(d[0]) ?? '–'}: ${latest(d, ['accuracy'], fraction)}.`,
  },
  {
    id: 'loss-round',
    title: 'Loss by round: held-out, and on the devices while training',
    shape: lossByRound,
    options: () => ({
      scales: { x: { time: false }, y: { range: zeroUp } },
      axes: [roundAxis, axis('loss (nats)', { size: 50 })],
      series: [
        { label: 'round' },
        lineSeries('held-out', COLORS.loss, 'y', lossValue),
        lineSeries('training', COLORS.training, 'y', lossValue),
      ],
    }),
    describe: (d) =>
      `Round ${last(d[0]) ?? '–'}: ${latest(d, ['held-out loss', 'training loss'], loss)}.`,
  },
  {
    id: 'metrics-time',
    title: 'Held-out accuracy over time',
    shape: accuracyByTime,
    options: () => ({
      scales: { x: { time: true }, y: { range: [0, 1] } },
      axes: [
        axis('time of day', { values: (_, ticks) => ticks.map((t) => clock(t * 1000)), space: 70 }),
        percentAxis('held-out accuracy (%)'),
      ],
      series: [
        { label: 'time' },
        lineSeries('accuracy', COLORS.accuracy, 'y', (_, v) => fraction(v)),
      ],
    }),
    describe: (d) => `Latest: ${latest(d, ['accuracy'], fraction)}.`,
  },
  {
    id: 'waiting',
    title: 'Waiting for devices: round opened to first device selected',
    shape: waitingByRound,
    options: () => ({
      scales: { x: barRounds, y: { range: zeroUp } },
      axes: [roundAxis, secondsAxis('waiting (s)')],
      series: [{ label: 'round' }, barSeries('waiting', COLORS.waiting)],
    }),
    describe: (d) => `Last round waited ${seconds(last(d[1] ?? []))} for its first device.`,
  },
  {
    id: 'duration',
    title: 'Training time: first device selected to round closed',
    shape: trainingByRound,
    options: () => ({
      scales: { x: barRounds, y: { range: zeroUp } },
      axes: [roundAxis, secondsAxis('training (s)')],
      series: [{ label: 'round' }, barSeries('training', COLORS.duration)],
    }),
    describe: (d) => `Last round's devices worked ${seconds(last(d[1] ?? []))}.`,
  },
  {
    id: 'bytes',
    title: 'Bytes up (updates) and down (models) per closed round',
    shape: bytesByRound,
    options: () => ({
      scales: { x: { time: false }, y: { range: zeroUp } },
      axes: [
        roundAxis,
        axis('bytes', { values: (_, ticks) => ticks.map((t) => bytes(t)), size: 80 }),
      ],
      series: [
        { label: 'round' },
        lineSeries('up', COLORS.up, 'y', (_, v) => (v == null ? '–' : bytes(v))),
        lineSeries('down', COLORS.down, 'y', (_, v) => (v == null ? '–' : bytes(v))),
      ],
    }),
    describe: (d) =>
      `Latest round: ${latest(d, ['up', 'down'], (v) => (v == null ? '–' : bytes(v)))}.`,
  },
  {
    id: 'tiers',
    title: 'Share of the examples by device speed tier',
    shape: tierShareByRound,
    options: () => ({
      scales: { x: { time: false }, y: { range: [0, 1] } },
      axes: [roundAxis, percentAxis('share of examples (%)')],
      series: [
        { label: 'round' },
        ...SPEED_TIERS.map((tier, i) =>
          lineSeries(tierName(tier), COLORS.tiers[i]!, 'y', (_, v) => fraction(v)),
        ),
      ],
    }),
    describe: (d) => `Latest round: ${latest(d, SPEED_TIERS.map(tierName), fraction)}.`,
  },
]

const HEIGHT = 200

export interface Charts {
  update(rounds: readonly RoundView[]): void
  destroy(): void
}

/** Builds the charts into `grid` (one figure each) for one task. */
export function createCharts(doc: Document, grid: HTMLElement): Charts {
  const built = SPECS.map((spec) => {
    const plotArea = h(doc, 'div', 'plot')
    const caption = h(doc, 'figcaption', null, spec.title)
    const words = h(doc, 'p', 'sr')
    const figure = h(doc, 'figure', 'chart', caption, plotArea, words)
    figure.id = `chart-${spec.id}`
    figure.setAttribute('aria-label', spec.title)
    // What the canvas's axes say, for tests and tools that cannot read pixels.
    figure.dataset.axes = (spec.options().axes ?? []).map((a) => a.label ?? '').join(' | ')
    grid.append(figure)
    const data: Columns = spec.shape([])
    const plot = new uPlot(
      { ...spec.options(), width: Math.max(200, plotArea.clientWidth), height: HEIGHT },
      data,
      plotArea,
    )
    plot.root.setAttribute('aria-hidden', 'true')
    return { spec, plot, figure, words, plotArea }
  })
  // Follow the card's width (a phone in portrait, a wide desktop, a rotated tablet).
  const resize = new ResizeObserver(() => {
    for (const { plot, plotArea } of built) {
      const width = Math.max(200, Math.floor(plotArea.clientWidth))
      if (width !== plot.width) plot.setSize({ width, height: HEIGHT })
    }
  })
  for (const { plotArea } of built) resize.observe(plotArea)

  return {
    update(rounds) {
      for (const { spec, plot, figure, words } of built) {
        const data = spec.shape(rounds)
        plot.setData(data)
        figure.dataset.points = String(data[0].length)
        const { min, max } = plot.scales.y ?? {}
        figure.dataset.yRange = `${min ?? ''} ${max ?? ''}`
        words.textContent = data[0].length === 0 ? 'No rounds yet.' : spec.describe(data)
      }
    },
    destroy() {
      resize.disconnect()
      for (const { plot, figure } of built) {
        plot.destroy()
        figure.remove()
      }
    },
  }
}
