import { describe, expect, it } from 'vitest'
import type { TaskView } from '../../../shared/protocol/index.ts'
import { round } from '../fixtures.ts'
import { confusionChoice, createView, shownTask } from './view.ts'

const task = (id: string, createdAt: string) => ({ id, name: id, createdAt }) as TaskView

describe('createView', () => {
  it('takes the chosen task from the page address, none without one', () => {
    expect(createView('#task=a%20b').selected).toBe('a b')
    expect(createView('').selected).toBeNull()
    expect(createView('#task=').selected).toBeNull()
    const view = createView('')
    expect(view).toMatchObject({ datasets: [], deviceDetail: null, confusionRound: null })
    expect(view.state.tasks.size).toBe(0)
  })
})

describe('shownTask', () => {
  it('shows the chosen task while it exists', () => {
    const view = createView('#task=old')
    view.state.tasks.set('old', task('old', '2026-01-01'))
    view.state.tasks.set('new', task('new', '2026-02-01'))
    expect(shownTask(view)?.id).toBe('old')
    expect(view.selected).toBe('old')
  })

  it('falls back to the newest task, and chooses it, when none is chosen or it was deleted', () => {
    const view = createView('#task=gone')
    view.state.tasks.set('old', task('old', '2026-01-01'))
    view.state.tasks.set('new', task('new', '2026-02-01'))
    expect(shownTask(view)?.id).toBe('new')
    expect(view.selected).toBe('new')
  })

  it('shows nothing and keeps the choice when there are no tasks', () => {
    const view = createView('#task=t')
    expect(shownTask(view)).toBeUndefined()
    expect(view.selected).toBe('t')
  })
})

describe('confusionChoice', () => {
  const matrix = [[1]]
  const rounds = [
    round({ round: 1, confusion: matrix }),
    round({ round: 2, confusion: matrix }),
    round({ round: 3, confusion: null }),
  ]
  it('follows the latest round with a matrix when that is chosen', () => {
    expect(confusionChoice(rounds, 2)).toBeNull()
  })
  it('keeps an earlier round chosen', () => {
    expect(confusionChoice(rounds, 1)).toBe(1)
  })
})
