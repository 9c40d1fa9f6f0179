import { describe, expect, it } from 'vitest'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import type { ConsentRecord } from '../storage/index.ts'
import { arrangeCards, purposeChanged } from './arrange.ts'
import { NO_CONDITIONS } from './conditions.ts'

const task = (id: string, status: DeviceTaskView['status'] = 'running', purpose = 'why') =>
  ({ id, name: id, status, purpose }) as DeviceTaskView

const consent = (taskId: string, state: ConsentRecord['state'] = 'granted', purpose = 'why') =>
  ({
    taskId,
    taskName: taskId,
    dataset: 'mnist',
    purpose,
    state,
    conditions: NO_CONDITIONS,
    decidedAt: 0,
  }) satisfies ConsentRecord

const mineOf = (...records: ConsentRecord[]) => new Map(records.map((c) => [c.taskId, c]))

describe('arrangeCards', () => {
  const tasks = [task('done', 'completed'), task('a'), task('other', 'failed'), task('b', 'paused')]
  const mine = mineOf(consent('a'), consent('done'), consent('gone'))

  it('puts the tasks on offer first, then the ended ones joined, then those no longer listed', () => {
    expect(
      arrangeCards(tasks, mine, true).map((p) => [
        p.kind,
        'task' in p ? p.task.id : p.consent.taskId,
      ]),
    ).toEqual([
      ['offered', 'a'],
      ['offered', 'b'],
      ['ended', 'done'],
      ['removed', 'gone'],
    ])
  })

  it('gives each offered task its consent, if any', () => {
    const offered = arrangeCards(tasks, mine, true).filter((p) => p.kind === 'offered')
    expect(offered.map((p) => p.consent?.taskId)).toEqual(['a', undefined])
  })

  it('shows a task joined as stored, not removed, when the coordinator was not reached', () => {
    expect(arrangeCards([], mineOf(consent('a')), false)).toEqual([
      { kind: 'stored', consent: consent('a') },
    ])
  })
})

describe('purposeChanged', () => {
  it('names the joined tasks still on offer whose purpose changed since the owner agreed', () => {
    const tasks = [
      task('changed', 'running', 'new'),
      task('same'),
      task('paused-consent', 'running', 'new'),
      task('ended', 'completed', 'new'),
    ]
    const mine = mineOf(
      consent('changed'),
      consent('same'),
      consent('paused-consent', 'paused'),
      consent('ended'),
    )
    expect(purposeChanged(tasks, mine)).toEqual(['changed'])
  })
})
