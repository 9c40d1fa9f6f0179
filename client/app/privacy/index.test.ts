import { afterEach, describe, expect, it } from 'vitest'
import { type LedgerRecord, STORES } from '../storage/index.ts'
import { ledgerTotals, mountPrivacyScreen, totalText } from './index.ts'
import { testDatabases } from '../storage/testing.ts'

const HOSTILE = '<img src=x onerror="window.hacked=1"><b>bold</b>'

const record = (taskId: string, overrides: Partial<LedgerRecord> = {}): LedgerRecord => ({
  taskId,
  taskName: `task ${taskId}`,
  joinedAt: 1_700_000_000_000,
  rounds: 0,
  lastContributionAt: null,
  differentialPrivacy: null,
  secureAggregation: false,
  updatedAt: 1_700_000_000_000,
  ...overrides,
})

const dp = (epsilonSpent: number, epsilonBudget: number, delta = 1e-5) => ({
  epsilonSpent,
  epsilonBudget,
  delta,
  mode: 'central' as const,
})

const { open } = testDatabases('pollen-privacy-view')
afterEach(() => {
  document.body.replaceChildren()
})

/** The screen's own markup, as index.html has it. */
async function screen(records: LedgerRecord[]) {
  const db = await open()
  for (const r of records) await db.put(STORES.ledger, r)
  const summary = document.createElement('div')
  summary.id = 'privacy-summary'
  const list = document.createElement('ol')
  list.id = 'privacy-list'
  document.body.append(summary, list)
  await mountPrivacyScreen({ db }).refresh()
  const items = [...list.querySelectorAll('li')]
  return { summary, list, items, text: (i: number) => items[i]?.textContent ?? '' }
}

describe('the privacy screen', () => {
  it('says so when no task was joined', async () => {
    const { summary, items } = await screen([])
    expect(items).toHaveLength(0)
    expect(summary.textContent).toBe(
      'No tasks joined yet. Join one on the Tasks screen; it is kept here from then on.',
    )
  })

  it('lists each task joined with its rounds and privacy, and adds ε up', async () => {
    const { summary, items, text } = await screen([
      record('a', {
        joinedAt: 1,
        rounds: 3,
        lastContributionAt: 1_700_000_500_000,
        differentialPrivacy: dp(1.2, 8),
      }),
      record('b', { joinedAt: 2, rounds: 1, differentialPrivacy: dp(2.5, 4, 1e-6) }),
      record('c', { joinedAt: 3, rounds: 2, secureAggregation: true }),
      record('d', { joinedAt: 4 }),
    ])
    expect(items.map((i) => i.dataset.taskId)).toEqual(['a', 'b', 'c', 'd'])
    expect(items.map((i) => i.dataset.privacy)).toEqual(['dp', 'dp', 'secure-aggregation', 'none'])
    expect(text(0)).toContain('task a')
    expect(text(0)).toContain('Rounds contributed3')
    expect(text(0)).toContain(
      'ε 1.2 spent of 8, at δ = 0.00001 (15%); noise added by the coordinator.',
    )
    expect(text(1)).toContain('ε 2.5 spent of 4, at δ = 0.000001 (63%)')
    expect(text(2)).toContain(
      'No differential privacy (no ε); secure aggregation: only sums are seen.',
    )
    expect(text(3)).toContain(
      "No differential privacy: the coordinator can see this phone's updates.",
    )
    expect(text(3)).toContain('Last acceptedNone yet')
    expect(items[0]?.querySelector('time')?.dateTime).toBe(new Date(1).toISOString())

    const lines = [...summary.querySelectorAll('p')].map((p) => p.textContent)
    expect(lines[0]).toBe('4 tasks joined, 6 updates accepted.')
    expect(lines[1]).toContain('Largest ε spent by one task: 2.5 (“task b”)')
    expect(lines[1]).toContain('ε from tasks that train on the same examples add up')
    expect(lines[1]).toContain('the sum, ε = 3.7 at δ = 0.000011')
    expect(lines[1]).toContain('(it may reach ε = 12 if every task spends its budget)')
    expect(lines[2]).toBe(
      "1 task without differential privacy received this phone's updates: no ε bounds what " +
        'those reveal, so neither does the sum.',
    )
  })

  it('shows a hostile task name as text, never markup', async () => {
    const { summary, list, text } = await screen([
      record('h', { taskName: HOSTILE, rounds: 1, differentialPrivacy: dp(9, 10) }),
    ])
    expect(text(0)).toContain(HOSTILE)
    expect(summary.textContent).toContain(`(“${HOSTILE}”)`)
    expect(list.querySelector('img, b')).toBeNull()
    expect(summary.querySelector('img, b')).toBeNull()
    expect((window as { hacked?: number }).hacked).toBeUndefined()
  })
})

describe('ledgerTotals', () => {
  it('sums ε and δ over the tasks with differential privacy, and names those without', () => {
    const t = ledgerTotals([
      record('a', { rounds: 2, differentialPrivacy: dp(1, 2) }),
      record('b', { rounds: 0, differentialPrivacy: dp(0.5, 1, 1e-6) }),
      record('c', { rounds: 0 }),
      record('d', { rounds: 4, secureAggregation: true }),
    ])
    expect(t).toMatchObject({
      tasks: 4,
      rounds: 6,
      epsilonSum: 1.5,
      deltaSum: 1e-5 + 1e-6,
      budgetSum: 3,
    })
    expect(t.largest?.taskId).toBe('a')
    // A task without privacy that got nothing from this phone takes nothing from the bound.
    expect(t.unboundedWithRounds.map((r) => r.taskId)).toEqual(['d'])
  })

  it('says plainly when no task has differential privacy', () => {
    expect(totalText(ledgerTotals([record('a', { rounds: 1 })]))).toEqual([
      '1 task joined, 1 update accepted.',
      'No task you joined uses differential privacy, so no ε bounds what they reveal.',
    ])
  })
})
