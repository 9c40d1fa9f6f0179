import { describe, expect, it } from 'vitest'
import { describeIssues } from './errors.ts'
import { mergeTaskPatch } from './task-patch.ts'
import { type TaskPatch, type TaskSpecInput, TaskSpecSchema } from './task.ts'

const base = { name: 't', purpose: 'p', model: { preset: 'mnist-2nn' as const } }
const task = (input: Partial<TaskSpecInput> = {}) => TaskSpecSchema.parse({ ...base, ...input })

/** What creating the task with the patched settings would be refused for. */
function createIssues(input: Partial<TaskSpecInput>, patch: TaskPatch) {
  const rounds = { ...task(input).rounds, ...patch.rounds }
  const parsed = TaskSpecSchema.safeParse({ ...base, ...input, rounds })
  return parsed.success ? [] : describeIssues(parsed.error)
}

describe('mergeTaskPatch', () => {
  it('merges round and train settings over the spec and leaves the rest', () => {
    const spec = task({ rounds: { total: 5, clientsPerRound: 4, minReports: 2 } })
    const merged = mergeTaskPatch(spec, {
      rounds: { total: 9, deadlineSeconds: 30 },
      train: { learningRate: 0.5 },
    })
    expect(merged).toEqual({
      ok: true,
      spec: {
        ...spec,
        rounds: { ...spec.rounds, total: 9, deadlineSeconds: 30 },
        train: { ...spec.train, learningRate: 0.5 },
      },
    })
    expect(mergeTaskPatch(spec, { status: 'paused' })).toEqual({ ok: true, spec })
  })

  it('changes the codecs uploads may use, and refuses b-bit uploads for a secure private task', () => {
    const spec = task()
    expect(mergeTaskPatch(spec, { compression: { uploads: ['int8', 'float32'] } })).toEqual({
      ok: true,
      spec: { ...spec, compression: { uploads: ['int8', 'float32'], downloads: ['float32'] } },
    })
    // Downloads apart from uploads: each keeps what the patch does not name.
    const downloads = ['float32', 'delta'] as const
    expect(mergeTaskPatch(spec, { compression: { downloads: [...downloads] } })).toEqual({
      ok: true,
      spec: { ...spec, compression: { uploads: ['float32'], downloads } },
    })
    const privacy = { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10 }
    const secure = task({
      privacy,
      secureAggregation: true,
      rounds: { clientsPerRound: 5, minReports: 3 },
    })
    const refused = mergeTaskPatch(secure, { compression: { uploads: ['bbit1'] } })
    expect(refused).toMatchObject({ ok: false, issues: [{ field: 'compression.uploads' }] })
  })

  it('refuses what creating the task so would refuse, with the same field and message', () => {
    const cases: [Partial<TaskSpecInput>, TaskPatch, string][] = [
      [{}, { rounds: { minReports: 11 } }, 'rounds.minReports'],
      [
        { rounds: { clientsPerRound: 6, minReports: 6 } },
        { rounds: { clientsPerRound: 3 } },
        'rounds.minReports',
      ],
      [
        { secureAggregation: true },
        { rounds: { clientsPerRound: 2, minReports: 2, overSelect: 1 } },
        'rounds.clientsPerRound',
      ],
      [
        {
          privacy: { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10 },
          secureAggregation: true,
        },
        { rounds: { clientsPerRound: 1, minReports: 1, overSelect: 2 } },
        'rounds.clientsPerRound',
      ],
    ]
    for (const [input, patch, field] of cases) {
      const merged = mergeTaskPatch(task(input), patch)
      expect(merged, field).toEqual({ ok: false, issues: createIssues(input, patch) })
      expect(merged.ok || merged.issues[0]!.field).toBe(field)
    }
  })

  it("names too few reports for a robust rule by the patched count, with the rule's message", () => {
    const input = {
      aggregation: { rule: 'median' as const },
      rounds: { clientsPerRound: 4, minReports: 4 },
    }
    const merged = mergeTaskPatch(task(input), { rounds: { minReports: 2 } })
    const [created] = createIssues(input, { rounds: { minReports: 2 } })
    expect(created?.field).toBe('aggregation.rule')
    expect(merged).toEqual({
      ok: false,
      issues: [{ field: 'rounds.minReports', message: created!.message }],
    })
  })

  it('checks an async task against its buffer, which a PATCH of rounds does not change', () => {
    const spec = task({
      mode: 'async',
      aggregation: { rule: 'median' },
      rounds: { minReports: 1, clientsPerRound: 1 },
    })
    expect(mergeTaskPatch(spec, { rounds: { minReports: 1 } }).ok).toBe(true)
  })
})
