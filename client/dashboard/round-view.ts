// The current round: its number, the deadline countdown, and how many devices are at each stage.
import type { RoundView, TaskView } from '../../shared/protocol/index.ts'
import { h } from '../app/dom.ts'
import { count } from './format.ts'
import { countdown, roundProgress, STAGES, type Stage } from './progress.ts'
import type { DeviceTrack } from './state.ts'

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
  number: HTMLElement
  countdown: HTMLElement
  summary: HTMLElement
  bar: HTMLElement
  stages: HTMLDListElement
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
  el.number.textContent = `${round.round}`
  el.number.dataset.round = String(round.round)
  el.number.dataset.status = round.status
  renderCountdown(el.countdown, round, now, task.status === 'paused')
  const target = task.rounds.clientsPerRound
  el.summary.textContent =
    round.status === 'open' && task.status === 'paused'
      ? `Paused: no new devices are selected; ${count(round.reported)} of ${count(target)} reports so far.`
      : round.status === 'open'
        ? `Open: ${count(round.reported)} of ${count(target)} reports needed` +
          ` (${count(task.rounds.minReports)} at least by the deadline).`
        : `${round.status === 'committed' ? 'Committed' : 'Abandoned'} with ${count(round.reported)} report${round.reported === 1 ? '' : 's'}` +
          (round.accuracy === null
            ? ''
            : `: held-out accuracy ${(round.accuracy * 100).toFixed(1)}%`) +
          (round.epsilon === null ? '.' : `; ε spent ${round.epsilon.toPrecision(4)}.`)
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
  paused: boolean,
): void {
  element.textContent = countdown(round, now, { paused })
  element.dataset.urgent = String(
    round.status === 'open' &&
      round.deadlineAt !== null &&
      Date.parse(round.deadlineAt) - now < 10_000,
  )
}
