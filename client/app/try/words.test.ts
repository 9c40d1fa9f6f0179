import { describe, expect, it } from 'vitest'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import type { TryModel } from './model.ts'
import { chosenText, currentText, modelText, percent } from './words.ts'

const task = (overrides: Partial<DeviceTaskView> = {}): DeviceTaskView =>
  ({
    id: 't',
    name: 'Digits',
    status: 'running',
    endedAt: null,
    mode: 'sync',
    accuracy: null,
    rounds: { total: 20, committed: 3, deadlineSeconds: 120 },
    ...overrides,
  }) as DeviceTaskView

const model = (overrides: Partial<TryModel> = {}): TryModel =>
  ({
    taskId: 't',
    spec: { preset: 'mnist-2nn' },
    from: 'download',
    committedRounds: 3,
    storedAt: 0,
    ...overrides,
  }) as TryModel

describe('the model chosen', () => {
  it('says how far a running task got, in rounds or model versions, and how accurate', () => {
    expect(currentText(task())).toBe('Current model: 3 of 20 rounds committed.')
    expect(currentText(task({ mode: 'async', accuracy: 0.801 }))).toBe(
      'Current model: 3 of 20 model versions committed; held-out accuracy 80.1%.',
    )
    expect(chosenText(task())).toBe(currentText(task()))
  })

  it('says how an ended task ended, and nothing for a task not listed', () => {
    expect(chosenText(task({ status: 'completed' }))).toMatch(/^Completed, after 3 of 20 rounds/)
    expect(chosenText(undefined)).toBe('')
  })
})

describe('modelText', () => {
  it('names the model, its rounds, and where the weights came from', () => {
    expect(modelText(model(), 'Digits', undefined)).toBe(
      'Digits: mnist-2nn, after 3 rounds. Downloaded now and kept on this phone.',
    )
    expect(modelText(model({ committedRounds: 1, from: 'stored' }), 'Digits', undefined)).toBe(
      'Digits: mnist-2nn, after 1 round. Kept on this phone: nothing downloaded.',
    )
    expect(
      modelText(
        model({ committedRounds: 0, spec: { preset: 'custom' } as TryModel['spec'] }),
        'D',
        undefined,
      ),
    ).toBe('D: a custom model, not trained yet (round 0). Downloaded now and kept on this phone.')
    expect(modelText(model({ committedRounds: null, from: 'offline' }), 'D', undefined)).toMatch(
      /^D: mnist-2nn\. Offline: the copy kept on this phone since /,
    )
  })

  it('gives the accuracy only when it is this model’s, and says an ended task’s is final', () => {
    expect(modelText(model(), 'D', task({ accuracy: 0.9 }))).toBe(
      'D: mnist-2nn, after 3 rounds. Held-out accuracy 90.0%. Downloaded now and kept on this phone.',
    )
    expect(modelText(model({ committedRounds: 2 }), 'D', task({ accuracy: 0.9 }))).not.toMatch(
      /accuracy/,
    )
    expect(modelText(model(), 'D', task({ status: 'completed' }))).toContain(
      ' The task has ended: this is its final model.',
    )
  })
})

describe('percent', () => {
  it('is whole at the ends and to a tenth between', () => {
    expect(percent(1)).toBe('100%')
    expect(percent(0.9951)).toBe('100%')
    expect(percent(0.0004)).toBe('0%')
    expect(percent(0.1234)).toBe('12.3%')
  })
})
