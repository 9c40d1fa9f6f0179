import { describe, expect, it } from 'vitest'
import type { DeviceTaskView } from '../../shared/protocol/index.ts'
import { describeTask } from './terms.ts'

const task = (over: Partial<DeviceTaskView> = {}): DeviceTaskView => ({
  id: 't1',
  name: 'Plant care',
  purpose: 'Tell when a plant needs water.',
  status: 'running',
  endedAt: null,
  mode: 'sync',
  async: null,
  accuracy: 0.8,
  dataset: 'plants',
  datasetSpec: null,
  model: { preset: 'tabular-mlp', parameters: 4_547 },
  updateBytes: 18_188,
  rounds: { total: 20, committed: 3, deadlineSeconds: 120 },
  privacy: { differentialPrivacy: null, secureAggregation: true },
  ...over,
})

describe('describeTask: a task’s consent terms for the embedding app', () => {
  it('says why, what leaves the device, the rounds and the privacy, as the phone app does', () => {
    const got = describeTask(task(), false)
    expect(got).toMatchObject({ id: 't1', name: 'Plant care', consented: false, joinable: true })
    expect(got.terms.purpose).toBe('Tell when a plant needs water.')
    expect(got.terms.sent).toBe('A weight update of 18 kB per round, never your examples.')
    expect(got.terms.rounds[0]).toEqual(['Rounds', '3 of 20 done; 2 minutes to answer each'])
    expect(got.terms.privacy[0]).toContain('Secure aggregation')
    expect(got.terms.why).toBe('')
  })

  it('says why an ended task, or one without a purpose, cannot be joined', () => {
    expect(describeTask(task({ status: 'completed' }), true)).toMatchObject({
      consented: true,
      joinable: false,
      terms: { why: 'it has completed' },
    })
    expect(describeTask(task({ purpose: '  ' }), false).terms.why).toBe(
      'its data scientist gave no purpose',
    )
  })
})
