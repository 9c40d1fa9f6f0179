// The current round: its number, the deadline countdown, and how many devices are at each stage.
// An async task's "round" is the version its buffer is filling: told as such.
import type { RoundView, TaskView } from '../../shared/protocol/index.ts'
import { h } from '../ui/dom.ts'
import { count } from './format.ts'
import { countdown, roundProgress, STAGES, type Stage } from './progress.ts'
import type { DeviceTrack } from './state.ts'
import { stalenessText } from './task-facts.ts'
import { renderTraffic } from './traffic.ts'

const STAGE_LABELS: Record<Stage, string> = {
  selected: 'Selected',
  downloading: 'Downloading',
  training: 'Training',
  reported: 'Reported',
  late: 'Late',
  dropped: 'Dropped',
  rejected: 'Rejected',
}

/** Stages drawn in the bar, in order: where each selected device is now. */
const BAR_STAGES: Stage[] = ['reported', 'training', 'downloading', 'rejected', 'dropped']

export interface RoundElements {
  /** The heading's word before the number: "Round" or "Version". */
  title: HTMLElement
  number: HTMLElement
  countdown: HTMLElement
  summary: HTMLElement
  bar: HTMLElement
  stages: HTMLDListElement
  /** Bytes up and down by codec (traffic.ts). */
  traffic: HTMLTableElement
}

const accuracyText = (round: RoundView) =>
  round.accuracy === null ? '' : `: held-out accuracy ${(round.accuracy * 100).toFixed(1)}%`

/**
 * What bounded a closed round's updates, in words: the norm bound and the weight cap it applied
 * and how many reports each changed ("" for a private task, whose own clipping bounds them).
 */
export function boundsText(round: RoundView): string {
  const b = round.updateBounds
  if (!b || (b.norm === null && b.weight === null)) return ''
  const parts = [
    ...(b.norm === null
      ? []
      : [`norm bound ${b.norm.toPrecision(3)} (${count(b.clipped)} clipped)`]),
    ...(b.weight === null
      ? []
      : [`weight cap ${count(Math.round(b.weight))} examples (${count(b.capped)} capped)`]),
  ]
  return ` Updates bounded: ${parts.join(', ')}.`
}

const abandonedText = (round: RoundView) =>
  round.status === 'abandoned' && round.abandonedReason ? `: ${round.abandonedReason}` : ''

/** A synchronous round: reports against its target and minimum, or how it closed. */
export function roundSummary(task: TaskView, round: RoundView): string {
  const target = task.rounds.clientsPerRound
  if (round.status === 'open' && task.status === 'paused')
    return `Paused: no new devices are selected; ${count(round.reported)} of ${count(target)} reports so far.`
  if (round.status === 'open')
    return (
      `Open: ${count(round.reported)} of ${count(target)} reports needed` +
      ` (${count(task.rounds.minReports)} at least by the deadline).`
    )
  return (
    `${round.status === 'committed' ? 'Committed' : 'Abandoned'} with ${count(round.reported)} report${round.reported === 1 ? '' : 's'}` +
    accuracyText(round) +
    abandonedText(round) +
    (round.epsilon === null ? '.' : `; ε spent ${round.epsilon.toPrecision(4)}.`) +
    boundsText(round)
  )
}

/** An async version: its buffer filling towards K, or what it applied and how stale that was. */
export function asyncSummary(task: TaskView, round: RoundView): string {
  const k = task.async.bufferSize
  if (round.status === 'open')
    return (
      `${task.status === 'paused' ? 'Paused: no new work handed out; ' : ''}` +
      `${count(round.reported)} of ${count(k)} updates in the buffer; the version is applied when it is full.`
    )
  const staleness = stalenessText(round)
  return (
    `${round.status === 'committed' ? 'Applied' : 'Abandoned'} with ${count(round.reported)} update${round.reported === 1 ? '' : 's'}` +
    accuracyText(round) +
    abandonedText(round) +
    (staleness ? `; staleness: ${staleness}.` : '.') +
    boundsText(round)
  )
}

export function renderRound(
  doc: Document,
  el: RoundElements,
  task: TaskView,
  round: RoundView,
  devices: readonly DeviceTrack[],
  now: number,
): void {
  const progress = roundProgress(round, devices)
  el.title.textContent = task.mode === 'async' ? 'Version' : 'Round'
  el.number.textContent = `${round.round}`
  el.number.dataset.round = String(round.round)
  el.number.dataset.status = round.status
  renderCountdown(el.countdown, round, now, task)
  el.summary.textContent =
    task.mode === 'async' ? asyncSummary(task, round) : roundSummary(task, round)
  el.stages.replaceChildren(
    ...STAGES.map((stage) => {
      const dd = h(doc, 'dd', null, count(progress[stage]))
      dd.dataset.stage = stage
      const pair = h(
        doc,
        'div',
        `stage stage-key-${stage}`,
        h(doc, 'dt', null, STAGE_LABELS[stage]),
        dd,
      )
      return pair
    }),
  )
  renderTraffic(doc, el.traffic, round)
  const total = Math.max(1, progress.selected)
  el.bar.replaceChildren(
    ...BAR_STAGES.filter((s) => progress[s] > 0).map((stage) => {
      const part = h(doc, 'span', `stage-${stage}`)
      part.style.flexGrow = String(progress[stage] / total)
      part.title = `${STAGE_LABELS[stage]}: ${progress[stage]}`
      return part
    }),
  )
}

export function renderCountdown(
  element: HTMLElement,
  round: RoundView,
  now: number,
  task: TaskView,
): void {
  // An async version has no deadline: each device has its own time, and the buffer decides.
  element.textContent =
    task.mode === 'async'
      ? round.status === 'open'
        ? `${count(round.reported)} of ${count(task.async.bufferSize)} buffered`
        : round.status === 'committed'
          ? 'applied'
          : 'abandoned'
      : countdown(round, now, { paused: task.status === 'paused' })
  element.dataset.urgent = String(
    task.mode !== 'async' &&
      round.status === 'open' &&
      round.deadlineAt !== null &&
      Date.parse(round.deadlineAt) - now < 10_000,
  )
}
