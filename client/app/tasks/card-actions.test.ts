import { afterEach, describe, expect, it } from 'vitest'
import type { ConsentRecord, TrainingConditions } from '../storage/index.ts'
import { actionButton, conditionsFieldset } from './card-actions.ts'
import type { CardContext } from './card-parts.ts'
import { NO_CONDITIONS, type ConditionSignals } from './conditions.ts'
import type { ConsentStore } from './consent.ts'

afterEach(() => {
  document.body.replaceChildren()
})

/** A card context that records what the screen was told. */
function context(signals: Partial<ConditionSignals> = {}) {
  const said: [string, string | undefined][] = []
  const saved: TrainingConditions[] = []
  let renders = 0
  const ctx = {
    document,
    say: (text: string, tone?: 'ok' | 'error' | 'info') => said.push([text, tone]),
    render: () => {
      renders += 1
      return Promise.resolve()
    },
    conditions: {
      read: () => ({ charging: true, unmetered: null, visible: true, ...signals }),
      subscribe: () => () => {},
    },
    consents: {
      setConditions: (_id: string, next: TrainingConditions) => {
        saved.push(next)
        return Promise.resolve(undefined)
      },
    } as unknown as ConsentStore,
    privacyTerms: () => [],
  } satisfies CardContext
  return { ctx, said, saved, renders: () => renders }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('actionButton', () => {
  it('says what was done and redraws the screen', async () => {
    const { ctx, said, renders } = context()
    const button = actionButton(ctx, 'Pause', null, () => Promise.resolve(), 'Paused.')
    button.click()
    expect(button.disabled).toBe(true)
    await settle()
    expect(said).toEqual([['Paused.', 'ok']])
    expect(renders()).toBe(1)
  })

  it('says nothing when the owner cancelled, and gives the button back', async () => {
    const { ctx, said } = context()
    const button = actionButton(ctx, 'Join', 'primary', () => Promise.resolve(false), 'Joined.')
    expect(button.className).toBe('primary')
    button.click()
    await settle()
    expect(said).toEqual([])
    expect(button.disabled).toBe(false)
  })

  it('says why it failed, and gives the button back', async () => {
    const { ctx, said, renders } = context()
    const button = actionButton(
      ctx,
      'Withdraw',
      'danger',
      () => Promise.reject(new Error('locked')),
      '',
    )
    button.click()
    await settle()
    expect(said).toEqual([['Withdraw failed: locked', 'error']])
    expect(button.disabled).toBe(false)
    expect(renders()).toBe(0)
  })
})

describe('conditionsFieldset', () => {
  const consent = (): ConsentRecord => ({
    taskId: 't',
    taskName: 'T',
    dataset: 'mnist',
    purpose: 'p',
    state: 'granted',
    conditions: { ...NO_CONDITIONS, onlyOnUnmeteredNetwork: true },
    decidedAt: 0,
  })

  it('disables and unticks a condition the browser cannot tell, and says why', () => {
    const { ctx } = context({ unmetered: null })
    const fieldset = conditionsFieldset(ctx, consent())
    const box = fieldset.querySelector<HTMLInputElement>('[name="onlyOnUnmeteredNetwork"]')!
    expect(box.disabled).toBe(true)
    expect(box.checked).toBe(false)
    expect(box.closest('label')?.classList.contains('unsupported')).toBe(true)
    expect(fieldset.querySelectorAll('p.hint')).toHaveLength(1)
  })

  it('saves a condition as it is ticked, and says so', async () => {
    const { ctx, said, saved } = context()
    const record = consent()
    const fieldset = conditionsFieldset(ctx, record)
    const box = fieldset.querySelector<HTMLInputElement>('[name="onlyWhileCharging"]')!
    box.checked = true
    box.dispatchEvent(new Event('change'))
    await settle()
    expect(saved).toEqual([
      { ...NO_CONDITIONS, onlyWhileCharging: true, onlyOnUnmeteredNetwork: true },
    ])
    expect(record.conditions.onlyWhileCharging).toBe(true)
    expect(said).toEqual([['Saved: only while charging on.', 'ok']])
  })
})
