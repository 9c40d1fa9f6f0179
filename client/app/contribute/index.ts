import { byId } from '../../ui/dom.ts'
import { OUTCOME_TEXT } from '../history/index.ts'
import type { HistoryRecord } from '../storage/index.ts'
import type { ContributionState, Contributor, ContributorOptions } from './loop.ts'

export type {
  AppTrainer,
  ContributionState,
  Contributor,
  ContributorOptions,
  TrainProgress,
} from './loop.ts'
export { clearEnrolment, loadEnrolment, saveEnrolment } from './enrolment.ts'
export type { Enrolment } from './enrolment.ts'
export { loadWorkerTrainer } from './trainer.ts'

/**
 * Makes the contribute loop. Loaded apart from the page's first bundle: the device runtime and
 * the protocol's schemas it brings are needed only once the app is up.
 */
export async function loadContributor(options: ContributorOptions): Promise<Contributor> {
  const { createContributor } = await import('./loop.ts')
  return createContributor(options)
}

/**
 * The "This phone" card: what the contribute loop is doing (backend, task, round, a progress
 * bar while training) and the last round's result.
 */
export function mountContributeStatus({ document = globalThis.document } = {}) {
  const status = byId(document, 'contribute-status', HTMLParagraphElement)
  const backendText = byId(document, 'contribute-backend', HTMLElement)
  const progress = byId(document, 'train-progress', HTMLProgressElement)
  const last = byId(document, 'contribute-last', HTMLParagraphElement)
  const card = byId(document, 'contribute', HTMLElement)

  function show(state: ContributionState): void {
    card.dataset.state = state.type
    if ('backend' in state) backendText.textContent = state.backend
    progress.hidden = state.type !== 'training'
    switch (state.type) {
      case 'idle':
        status.textContent = state.reason
        break
      case 'starting':
        status.textContent = 'Starting the training worker…'
        break
      case 'checking-in':
        status.textContent = 'Asking the coordinator for work…'
        break
      case 'waiting':
        status.textContent = `Waiting ${Math.round(state.seconds)} s for the next round.`
        break
      case 'training':
        status.textContent =
          `Training “${state.taskName}”, round ${state.round}, on this phone` +
          (state.resumedFrom ? `, carrying on from step ${state.resumedFrom}…` : '…')
        if (state.progress && state.progress.totalSteps > 0) {
          progress.value = state.progress.step / state.progress.totalSteps
          // The worker's own counters, for whoever checks the work resumed (the e2e tests).
          progress.dataset.step = String(state.progress.step)
          progress.dataset.firstStep = String(state.firstStep)
          progress.dataset.totalSteps = String(state.progress.totalSteps)
        } else {
          progress.removeAttribute('value')
          delete progress.dataset.step
          delete progress.dataset.firstStep
        }
        if (state.resumedFrom) progress.dataset.resumedFrom = String(state.resumedFrom)
        else delete progress.dataset.resumedFrom
        break
      case 'uploading':
        status.textContent = `Sending the weight update for round ${state.round}…`
        break
      case 'queued':
        status.textContent =
          `Offline: ${state.count === 1 ? 'an update waits' : `${state.count} updates wait`} ` +
          'to be sent. Pollen sends it when the network returns.'
        break
      case 'error':
        status.textContent = `Something went wrong; Pollen tries again soon. (${state.message})`
        break
    }
  }

  function round(record: HistoryRecord): void {
    last.textContent =
      `Last round: “${record.taskName}” round ${record.round}, ` +
      `${OUTCOME_TEXT[record.outcome].toLowerCase()}` +
      (record.examples ? `, ${record.examples.toLocaleString('en')} examples used` : '') +
      '.'
  }

  return { show, round }
}
