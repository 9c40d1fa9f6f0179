import { describe, expect, it } from 'vitest'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import type { ConsentRecord } from '../storage/index.ts'
import { type IdleFacts, idleReason } from './idle.ts'

const consent = (
  taskId: string,
  state: ConsentRecord['state'] = 'granted',
  dataset = 'mnist',
): IdleFacts['consents'][number] => ({ taskId, taskName: `task ${taskId}`, dataset, state })
const listed = (
  id: string,
  status: DeviceTaskView['status'] = 'running',
): NonNullable<IdleFacts['tasks']>[number] => ({ id, name: `task ${id}`, status, dataset: 'mnist' })
const held = new Map([['mnist', 800]])
const none = new Map<string, number>()

describe('why the phone is idle', () => {
  it('says, in plain words, what would make it train', () => {
    expect(idleReason({ consents: [], tasks: null, examples: held })).toBe(
      'Nothing to train: you have not joined a task. Read one below and join it if you agree.',
    )
    // Every task joined ended or was removed.
    expect(
      idleReason({
        consents: [consent('a'), consent('b')],
        tasks: [listed('a', 'completed'), listed('c')],
        examples: held,
      }),
    ).toBe(
      'Nothing to train: no task you joined is running (each ended or was removed). ' +
        'Join a task below when one is offered.',
    )
    expect(
      idleReason({
        consents: [consent('a', 'paused'), consent('b', 'granted')],
        tasks: [listed('a'), listed('b', 'failed')],
        examples: held,
      }),
    ).toBe('Nothing to train: you paused the tasks you joined. Resume one below to train.')
    expect(
      idleReason({ consents: [consent('a')], tasks: [listed('a', 'paused')], examples: held }),
    ).toBe(
      'Nothing to train: the data scientist paused “task a” for now. It trains again when they resume.',
    )
    expect(idleReason({ consents: [consent('a')], tasks: [listed('a')], examples: none })).toBe(
      'Nothing to train: “task a” needs examples of the dataset “mnist”: add some on Data.',
    )
    expect(
      idleReason({
        consents: [consent('a'), consent('b', 'granted', 'fashion')],
        tasks: [listed('a'), listed('b')],
        examples: none,
      }),
    ).toBe(
      'Nothing to train: “task a” and “task b” need examples of the dataset “mnist” and ' +
        '“fashion”: add some on Data.',
    )
  })

  it('leaves it to the coordinator when the phone has all it needs', () => {
    expect(idleReason({ consents: [consent('a')], tasks: [listed('a')], examples: held })).toBe(
      null,
    )
    // Offline: the tasks joined are taken as running.
    expect(idleReason({ consents: [consent('a')], tasks: null, examples: held })).toBe(null)
  })
})
