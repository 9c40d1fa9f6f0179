// A task's settings and progress in words. A synchronous task runs rounds with deadlines; an
// async (FedBuff) one applies every K updates as a new version, whatever round a device started
// on, so it is told in versions, buffer size, staleness and concurrency instead.
import type { RoundView, TaskView } from '../../shared/protocol/index.ts'
import { bytes, count, percent } from './format.ts'

const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`

/** "round 3 · 2 of 20 committed", or for an async task "version 2 of 20". */
export function progressLabel(task: TaskView): string {
  if (task.mode === 'async') return `version ${task.committedRounds} of ${task.rounds.total}`
  if (task.round === 0) return `no round yet · 0 of ${task.rounds.total} committed`
  return `round ${task.round} · ${task.committedRounds} of ${task.rounds.total} committed`
}

/** How the task trains: the round settings of a synchronous task, FedBuff's of an async one. */
export function roundFacts(task: TaskView): string {
  if (task.mode === 'async') {
    const a = task.async
    return (
      `async (FedBuff): a new version every ${plural(a.bufferSize, 'update')} (buffer K), ` +
      `updates at most ${plural(a.maxStaleness, 'version')} stale, ${count(a.concurrency)} devices at work at once, ` +
      `${task.rounds.deadlineSeconds} s for each device`
    )
  }
  const r = task.rounds
  return `${r.clientsPerRound} devices per round (${r.overSelect}× selected), deadline ${r.deadlineSeconds} s`
}

/**
 * A robust aggregation rule in words (Multi-Krum's f and m, the trimmed share); nothing for the
 * plain mean. Its cost: the round's reports are all kept until it closes.
 */
export function ruleFacts(task: TaskView): string[] {
  const a = task.aggregation
  switch (a.rule) {
    case 'median':
      return ['coordinate-wise median of the updates (unweighted)']
    case 'trimmed-mean':
      return [`trimmed mean, ${+(a.trim * 100).toFixed(2)}% cut from each end (unweighted)`]
    case 'multi-krum': {
      const averaged = { examples: 'by examples', uniform: 'equally', normalized: 'per local step' }
      return [
        `Multi-Krum against ${plural(a.byzantine, 'attacker')}: the ${a.krumSelect ?? 'n − f'} best-scored updates, averaged ${averaged[a.weighting]}`,
      ]
    }
    default:
      return []
  }
}

/** Differential privacy and secure aggregation, as the task's facts line says them. */
export function privacyFacts(task: TaskView): string[] {
  const facts: string[] = []
  const dp = task.privacy
  if (dp)
    facts.push(
      `DP (${dp.mode}, clip ${dp.clipNorm}, σ ${dp.noiseMultiplier}): ε ${(task.epsilonSpent ?? 0).toPrecision(4)} of ${dp.epsilonBudget} spent at δ ${dp.delta}`,
    )
  if (task.secureAggregation) facts.push('secure aggregation')
  if (task.stoppedReason) facts.push(`stopped: ${task.stoppedReason}`)
  return facts
}

/**
 * What travels compressed, where anything does: "updates as float32, int8, bbit1 · models as
 * float32, float16, delta" (each in the task's order of preference). Float32 alone says nothing.
 */
export function compressionFacts({ compression }: TaskView): string[] {
  const listed = (what: string, codecs: readonly string[]) =>
    codecs.length === 1 && codecs[0] === 'float32' ? [] : [`${what} as ${codecs.join(', ')}`]
  return [...listed('updates', compression.uploads), ...listed('models', compression.downloads)]
}

/**
 * The model and what one update costs: "mnist-2nn (199,210 weights, 778.2 KiB per update)", or
 * with frozen layers what training only the rest saves.
 */
export function modelFacts({ model }: TaskView): string {
  const { preset, parameters, trainableParameters: trained, updateBytes } = model
  if (trained >= parameters)
    return `${preset} (${count(parameters)} weights, ${bytes(updateBytes)} per update)`
  return (
    `${preset} (${count(parameters)} weights, ${count(trained)} trained: frozen layers stay on ` +
    `the devices, so an update is ${bytes(updateBytes)}, ${percent(1 - trained / parameters)} smaller)`
  )
}

/** Whether committed models are evaluated: without a held-out set the task trains unmeasured. */
export function heldOutFact(task: TaskView): string {
  return task.heldOut
    ? `held-out evaluation on ${plural(task.heldOut.examples, 'example')}`
    : `no held-out evaluation (upload a held-out set for dataset ${task.dataset})`
}

export function taskFacts(task: TaskView): string[] {
  return [
    modelFacts(task),
    `dataset ${task.dataset}`,
    heldOutFact(task),
    `${task.train.optimizer}, learning rate ${task.train.learningRate}, batch ${task.train.batchSize}, ${plural(task.train.localEpochs, 'epoch')}`,
    roundFacts(task),
    ...compressionFacts(task),
    ...ruleFacts(task),
    ...(task.seed === null ? [] : [`seed ${task.seed}`]),
    progressLabel(task),
    ...privacyFacts(task),
  ]
}

/** Staleness of the updates a version applied: "2 fresh, 1 at staleness 1 (mean 0.33)". */
export function stalenessText(round: RoundView): string | null {
  if (!round.staleness || round.staleness.every((n) => n === 0)) return null // not known
  const parts = round.staleness.flatMap((n, behind) =>
    n === 0 ? [] : [behind === 0 ? `${count(n)} fresh` : `${count(n)} at staleness ${behind}`],
  )
  const total = round.staleness.reduce((a, b) => a + b, 0)
  const mean = round.staleness.reduce((s, n, behind) => s + n * behind, 0) / total
  return `${parts.join(', ')} (mean staleness ${mean.toFixed(2)})`
}
