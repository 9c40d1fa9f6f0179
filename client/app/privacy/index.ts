import { byId, h } from '../../ui/dom.ts'
import type { LedgerRecord, PollenDatabase } from '../storage/index.ts'
import { readLedger } from './ledger.ts'
import { epsilonText, formatNumber } from './terms.ts'

export {
  afterContribution,
  afterJoin,
  readDifferentialPrivacy,
  readLedger,
  readPrivacy,
  recordContribution,
  recordJoin,
  refreshPrivacy,
} from './ledger.ts'
export type { DifferentialPrivacyTerms } from './ledger.ts'
export {
  epsilonText,
  formatNumber,
  NO_PRIVACY_TEXT,
  privacyTerms,
  SECURE_AGGREGATION_TEXT,
} from './terms.ts'

/** What the ledger adds up to, for its total line. */
export interface LedgerTotals {
  tasks: number
  /** Updates accepted, over every task. */
  rounds: number
  /** The task with the largest ε spent, among those with differential privacy. */
  largest: LedgerRecord | null
  /** ε spent and δ over the tasks with differential privacy: their composition's bound. */
  epsilonSum: number
  deltaSum: number
  /** ε the same tasks may spend in all, their budgets. */
  budgetSum: number
  /** Tasks without differential privacy that this phone sent accepted updates to. */
  unboundedWithRounds: LedgerRecord[]
}

/**
 * Adds up the ledger. Tasks that train on the same examples compose: their ε (and δ) add up, so
 * the sum is the honest bound on what they reveal together. A task without differential privacy
 * that received updates has no ε at all, and so no bound.
 */
export function ledgerTotals(records: readonly LedgerRecord[]): LedgerTotals {
  const totals: LedgerTotals = {
    tasks: records.length,
    rounds: 0,
    largest: null,
    epsilonSum: 0,
    deltaSum: 0,
    budgetSum: 0,
    unboundedWithRounds: [],
  }
  for (const r of records) {
    totals.rounds += r.rounds
    const dp = r.differentialPrivacy
    if (!dp) {
      if (r.rounds > 0) totals.unboundedWithRounds.push(r)
      continue
    }
    totals.epsilonSum += dp.epsilonSpent
    totals.deltaSum += dp.delta
    totals.budgetSum += dp.epsilonBudget
    if (dp.epsilonSpent > (totals.largest?.differentialPrivacy?.epsilonSpent ?? -1))
      totals.largest = r
  }
  return totals
}

/** How a task's privacy reads in the ledger: its ε, or what the coordinator can see. */
export function ledgerPrivacyText(record: LedgerRecord): string {
  const dp = record.differentialPrivacy
  const sa = record.secureAggregation
  if (dp) {
    const by = dp.mode === 'central' ? 'the coordinator' : 'the phones'
    return (
      `${epsilonText(dp)}; noise added by ${by}` +
      (sa ? '. Secure aggregation: only sums are seen.' : '.')
    )
  }
  return sa
    ? 'No differential privacy (no ε); secure aggregation: only sums are seen.'
    : "No differential privacy: the coordinator can see this phone's updates."
}

const plural = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`

/** The total line: tasks joined, updates accepted, the largest ε and the sum that bounds them. */
export function totalText(totals: LedgerTotals): string[] {
  const lines = [
    `${plural(totals.tasks, 'task')} joined, ${plural(totals.rounds, 'update')} accepted.`,
  ]
  const largest = totals.largest
  if (largest?.differentialPrivacy) {
    lines.push(
      `Largest ε spent by one task: ${formatNumber(largest.differentialPrivacy.epsilonSpent)} ` +
        `(“${largest.taskName}”). But ε from tasks that train on the same examples add up, and ` +
        'this phone lends its examples to every task that asks for their dataset: the honest ' +
        'bound on what the tasks reveal together is the ' +
        `sum, ε = ${formatNumber(totals.epsilonSum)} at δ = ${formatNumber(totals.deltaSum)} ` +
        `(it may reach ε = ${formatNumber(totals.budgetSum)} if every task spends its budget).`,
    )
  } else if (totals.tasks > 0) {
    lines.push('No task you joined uses differential privacy, so no ε bounds what they reveal.')
  }
  const unbounded = totals.unboundedWithRounds.length
  if (unbounded > 0 && largest) {
    lines.push(
      `${plural(unbounded, 'task')} without differential privacy received this phone's ` +
        'updates: no ε bounds what those reveal, so neither does the sum.',
    )
  }
  return lines
}

export interface PrivacyScreenOptions {
  db: PollenDatabase
  document?: Document
}

const when = (document: Document, ms: number) => {
  const at = new Date(ms)
  const time = h(
    document,
    'time',
    null,
    at.toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' }),
  )
  time.dateTime = at.toISOString()
  return time
}

/**
 * The privacy screen: the ledger of the tasks this phone joined (kept after a withdrawal), each
 * with its rounds and its ε spent of its budget, and the total. Every string from the
 * coordinator goes in as text.
 */
export function mountPrivacyScreen({ db, document = globalThis.document }: PrivacyScreenOptions) {
  const list = byId(document, 'privacy-list', HTMLOListElement)
  const summary = byId(document, 'privacy-summary', HTMLDivElement)

  const pair = (term: string, value: string | Node) => [
    h(document, 'dt', null, term),
    h(document, 'dd', null, value),
  ]

  function row(r: LedgerRecord): HTMLLIElement {
    const item = h(
      document,
      'li',
      'card ledger-entry',
      h(document, 'strong', 'task-name', r.taskName),
      h(
        document,
        'dl',
        'facts',
        ...pair('Rounds contributed', r.rounds.toLocaleString('en')),
        ...pair('Privacy', ledgerPrivacyText(r)),
        ...pair('Joined', when(document, r.joinedAt)),
        ...pair(
          'Last accepted',
          r.lastContributionAt === null ? 'None yet' : when(document, r.lastContributionAt),
        ),
      ),
      h(document, 'p', 'hint', 'Updated ', when(document, r.updatedAt), '.'),
    )
    item.dataset.taskId = r.taskId
    item.dataset.privacy = r.differentialPrivacy
      ? 'dp'
      : r.secureAggregation
        ? 'secure-aggregation'
        : 'none'
    return item
  }

  async function refresh(): Promise<void> {
    const records = await readLedger(db)
    list.replaceChildren(...records.map(row))
    summary.replaceChildren(
      ...(records.length === 0
        ? ['No tasks joined yet. Join one on the Tasks screen; it is kept here from then on.']
        : totalText(ledgerTotals(records))
      ).map((line) => h(document, 'p', null, line)),
    )
  }

  return { refresh }
}

export type PrivacyScreen = ReturnType<typeof mountPrivacyScreen>
