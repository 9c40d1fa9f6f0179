import { describe, expect, it } from 'vitest'
import { TaskSpecSchema, type TaskSpecInput, type TaskView } from '../../shared/protocol/index.ts'
import { round } from './fixtures.ts'
import { asyncSummary, boundsText, roundSummary } from './round-view.ts'
import {
  compressionFacts,
  heldOutFact,
  modelFacts,
  progressLabel,
  roundFacts,
  ruleFacts,
  stalenessText,
  taskFacts,
} from './task-facts.ts'

const taskOf = (input: Partial<TaskSpecInput>, more: Partial<TaskView> = {}): TaskView =>
  ({
    ...TaskSpecSchema.parse({ name: 't', purpose: 'p', model: { preset: 'mnist-2nn' }, ...input }),
    id: 't',
    status: 'running',
    model: {
      preset: 'mnist-2nn',
      hash: 'h',
      parameters: 199_210,
      trainableParameters: 199_210,
      updateBytes: 796_840,
    },
    epsilonSpent: null,
    round: 1,
    committedRounds: 0,
    ...more,
  }) as TaskView

describe('task facts', () => {
  it('tells the model, its update size, and what frozen layers save', () => {
    const task = taskOf({})
    expect(modelFacts(task)).toBe('mnist-2nn (199,210 weights, 778.2 KiB per update)')
    expect(taskFacts(task)[0]).toBe(modelFacts(task))
    const frozen = taskOf(
      {},
      {
        model: {
          preset: 'custom',
          hash: 'h',
          parameters: 100_000,
          trainableParameters: 10_000,
          updateBytes: 40_000,
        },
      },
    )
    expect(modelFacts(frozen)).toBe(
      'custom (100,000 weights, 10,000 trained: frozen layers stay on the devices, so an update is 39.1 KiB, 90% smaller)',
    )
  })

  it('says which codecs updates and models may travel in, and nothing for float32 alone', () => {
    expect(compressionFacts(taskOf({}))).toEqual([])
    const compressed = taskOf({
      compression: { uploads: ['float32', 'int8', 'bbit1'], downloads: ['float32', 'delta'] },
    })
    expect(compressionFacts(compressed)).toEqual([
      'updates as float32, int8, bbit1',
      'models as float32, delta',
    ])
    expect(taskFacts(compressed)).toContain('models as float32, delta')
    expect(
      compressionFacts(taskOf({ compression: { downloads: ['float32', 'float16'] } })),
    ).toEqual(['models as float32, float16'])
  })

  it('says whether committed models are evaluated on a held-out set', () => {
    const task = taskOf({ dataset: 'flowers' }, { heldOut: null })
    expect(heldOutFact(task)).toBe(
      'no held-out evaluation (upload a held-out set for dataset flowers)',
    )
    const measured = { ...task, heldOut: { examples: 300, uploadedAt: '2026-12-05T00:00:00.000Z' } }
    expect(taskFacts(measured)).toContain('held-out evaluation on 300 examples')
  })

  it('tells a synchronous task in rounds with deadlines', () => {
    const task = taskOf({ rounds: { total: 40, clientsPerRound: 10, deadlineSeconds: 120 } })
    expect(roundFacts(task)).toBe('10 devices per round (1.3× selected), deadline 120 s')
    expect(progressLabel(task)).toBe('round 1 · 0 of 40 committed')
    // Before its first round opened, not "round 0".
    expect(progressLabel({ ...task, round: 0 })).toBe('no round yet · 0 of 40 committed')
    expect(roundSummary(task, round({ status: 'open', reported: 0 }))).toBe(
      'Open: 0 of 10 reports needed (5 at least by the deadline).',
    )
  })

  it('tells an async task in versions, buffer size, staleness and concurrency, never rounds', () => {
    const task = taskOf(
      {
        mode: 'async',
        async: { bufferSize: 4, maxStaleness: 3, stalenessExponent: 0.5, concurrency: 12 },
        rounds: { total: 20, deadlineSeconds: 90 },
      },
      { committedRounds: 5, round: 6, seed: 7 },
    )
    const facts = taskFacts(task).join(' · ')
    expect(facts).toContain(
      'async (FedBuff): a new version every 4 updates (buffer K), updates at most 3 versions stale, 12 devices at work at once, 90 s for each device',
    )
    expect(facts).toContain('version 5 of 20')
    expect(facts).not.toMatch(/devices per round|deadline|round \d/)
    expect(facts).toContain('seed 7')
    expect(asyncSummary(task, round({ status: 'open', reported: 1 }))).toBe(
      '1 of 4 updates in the buffer; the version is applied when it is full.',
    )
    const applied = round({ status: 'committed', reported: 4, accuracy: 0.9, staleness: [1, 2, 1] })
    expect(asyncSummary(task, applied)).toBe(
      'Applied with 4 updates: held-out accuracy 90.0%; staleness: 1 fresh, 2 at staleness 1, 1 at staleness 2 (mean staleness 1.00).',
    )
    expect(stalenessText(round({ staleness: null }))).toBeNull()
  })

  it('says what bounded a closed round, and why one was abandoned', () => {
    const task = taskOf({ rounds: { total: 40, clientsPerRound: 10 } })
    const bounded = round({
      status: 'committed',
      reported: 10,
      accuracy: 0.9,
      updateBounds: { norm: 0.41235, weight: 800, clipped: 3, capped: 1 },
    })
    expect(roundSummary(task, bounded)).toBe(
      'Committed with 10 reports: held-out accuracy 90.0%. Updates bounded: norm bound 0.412 (3 clipped), weight cap 800 examples (1 capped).',
    )
    const uniform = round({ updateBounds: { norm: 2, weight: null, clipped: 0, capped: 0 } })
    expect(boundsText(uniform)).toBe(' Updates bounded: norm bound 2.00 (0 clipped).')
    expect(boundsText(round({ updateBounds: null }))).toBe('')
    const abandoned = round({
      status: 'abandoned',
      reported: 3,
      accuracy: null,
      abandonedReason: 'the new model is not finite',
      updateBounds: null,
    })
    expect(roundSummary(task, abandoned)).toBe(
      'Abandoned with 3 reports: the new model is not finite.',
    )
  })

  it('names a robust aggregation rule, and nothing for the plain mean', () => {
    expect(ruleFacts(taskOf({}))).toEqual([])
    const median = taskOf({ aggregation: { rule: 'median' }, rounds: { minReports: 3 } })
    expect(taskFacts(median)).toContain('coordinate-wise median of the updates (unweighted)')
    const trimmed = taskOf({
      aggregation: { rule: 'trimmed-mean', trim: 0.25 },
      rounds: { clientsPerRound: 8, minReports: 4 },
    })
    expect(ruleFacts(trimmed)).toEqual(['trimmed mean, 25% cut from each end (unweighted)'])
    const krum = taskOf({ aggregation: { rule: 'multi-krum' }, rounds: { minReports: 5 } })
    expect(ruleFacts(krum)).toEqual([
      'Multi-Krum against 1 attacker: the n − f best-scored updates, averaged by examples',
    ])
    const two = taskOf({
      aggregation: { rule: 'multi-krum', byzantine: 2, krumSelect: 3, weighting: 'uniform' },
      rounds: { clientsPerRound: 10, minReports: 7 },
    })
    expect(ruleFacts(two)).toEqual([
      'Multi-Krum against 2 attackers: the 3 best-scored updates, averaged equally',
    ])
  })
})
