import { describe, expect, it } from 'vitest'
import type { TaskView } from '../../../shared/protocol/index.ts'
import {
  appliedText,
  connectionText,
  createdText,
  pauseControl,
  steerable,
  taskErrorText,
  timelineNote,
} from './words.ts'

const task = (overrides: Partial<TaskView>) =>
  ({ id: 't', name: 'Digits', status: 'running', error: null, ...overrides }) as TaskView

describe('connectionText', () => {
  it('names each state, and the seconds until the next try', () => {
    expect(connectionText({ state: 'connecting', attempt: 0 })).toBe('Connecting…')
    expect(connectionText({ state: 'live' })).toBe('Live')
    expect(connectionText({ state: 'unauthorized' })).toBe('Token refused')
    expect(connectionText({ state: 'stopped' })).toBe('Not connected')
    expect(connectionText({ state: 'waiting', retryInMs: 1200, reason: 'x' })).toBe(
      'Reconnecting in 2 s',
    )
  })
})

describe('the task card', () => {
  it('says a failed task failed, and another error as it is', () => {
    expect(taskErrorText(task({}))).toBe('')
    expect(taskErrorText(task({ status: 'failed', error: 'boom' }))).toBe('Failed: boom')
    expect(taskErrorText(task({ status: 'running', error: 'slow' }))).toBe('slow')
  })

  it('pauses a running task, resumes a paused or failed one, and steers no ended one', () => {
    expect(pauseControl(task({ status: 'running' }))).toEqual({ label: 'Pause', disabled: false })
    expect(pauseControl(task({ status: 'paused' }))).toEqual({ label: 'Resume', disabled: false })
    expect(pauseControl(task({ status: 'failed' }))).toEqual({ label: 'Resume', disabled: false })
    expect(pauseControl(task({ status: 'completed' }))).toEqual({ label: 'Pause', disabled: true })
    expect(steerable(task({ status: 'paused' }))).toBe(true)
    expect(steerable(task({ status: 'failed' }))).toBe(false)
  })
})

describe('timelineNote', () => {
  it('says where the devices shown come from', () => {
    expect(timelineNote(2, true)).toBe('')
    expect(timelineNote(2, null)).toBe('')
    expect(timelineNote(2, false)).toMatch(/^This coordinator gives no per-device detail/)
    expect(timelineNote(0, false)).toMatch(/^No per-device detail from this coordinator/)
    expect(timelineNote(0, true)).toBe('No device selected in this round yet.')
  })
})

describe('messages', () => {
  it('says what a new task opens', () => {
    expect(createdText(task({ mode: 'sync' }))).toBe(
      'Created “Digits”. Round 1 is open for devices.',
    )
    expect(createdText(task({ mode: 'async' }))).toBe(
      'Created “Digits”. Version 1 is open for devices.',
    )
  })

  it('says from when new settings apply', () => {
    const rounds = { deadlineSeconds: 60, clientsPerRound: 5 } as TaskView['rounds']
    expect(appliedText(task({ mode: 'sync', round: 3, rounds }))).toBe(
      'Applied. From round 4: deadline 60 s, 5 devices per round; round 3 keeps its own.',
    )
    expect(appliedText(task({ mode: 'async', round: 3, rounds }))).toBe(
      'Applied. From version 4, each device has 60 s.',
    )
  })
})
