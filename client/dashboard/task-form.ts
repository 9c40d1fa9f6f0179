// The "New task" form read into a TaskSpec (shared/protocol/task.ts). The server validates and
// names the field it refuses; this only turns the form's strings into the body it expects.
import { computeEpsilon } from '../../shared/privacy/index.ts'
import type { TaskSpecInput } from '../../shared/protocol/index.ts'

export interface FieldIssue {
  field: string
  message: string
}

export type FormRead<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] }

/** The numeric fields, by the dotted name the API gives them (and the inputs carry). */
export const NUMBER_FIELDS = [
  'train.learningRate',
  'train.batchSize',
  'train.localEpochs',
  'rounds.total',
  'rounds.clientsPerRound',
  'rounds.minReports',
  'rounds.deadlineSeconds',
  'rounds.overSelect',
] as const

/** Differential privacy's numbers, read only while its checkbox (`privacy`) is on. */
export const PRIVACY_NUMBER_FIELDS = [
  'privacy.clipNorm',
  'privacy.noiseMultiplier',
  'privacy.delta',
  'privacy.epsilonBudget',
  'privacy.population',
] as const
/** The ones the coordinator has no default for. */
const PRIVACY_REQUIRED: readonly string[] = [
  'privacy.clipNorm',
  'privacy.noiseMultiplier',
  'privacy.epsilonBudget',
]

/**
 * The coordinator's defaults the ε estimate needs when a field is left empty, as the inputs'
 * placeholders show them (a test holds them to the schema's: zod stays out of the page).
 */
export const SPEND_DEFAULTS = { total: 20, clientsPerRound: 10, overSelect: 1.3, delta: 1e-5 }

/**
 * Devices a round selects, ⌈overSelect × clientsPerRound⌉: shared/protocol's `selectedPerRound`,
 * copied because importing that module brings zod with it (a test holds the two together).
 */
export const selectedPerRound = (r: { overSelect: number; clientsPerRound: number }) =>
  Math.ceil(r.overSelect * r.clientsPerRound - 1e-9)

/**
 * A TF.js Layers topology from a file's text: a whole `model.json` (its `modelTopology`) or the
 * topology alone (`model.toJSON()` without weights).
 */
export function readTopology(text: string): FormRead<Record<string, unknown>> {
  const issue = (message: string) => ({
    ok: false as const,
    issues: [{ field: 'model.topology', message }],
  })
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return issue('the file is not JSON')
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
  if (!isObject(parsed)) return issue('the file holds no JSON object')
  const topology = isObject(parsed.modelTopology) ? parsed.modelTopology : parsed
  if (typeof topology.class_name !== 'string' || !isObject(topology.config))
    return issue('no TF.js Layers topology here (a class_name and a config, as model.json has)')
  return { ok: true, value: topology }
}

/** Dotted name → value, nested: `rounds.total` → { rounds: { total } }. */
function put(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const [head, ...rest] = dotted.split('.')
  if (head === undefined) return
  if (rest.length === 0) {
    target[head] = value
    return
  }
  const inner = (target[head] ??= {}) as Record<string, unknown>
  put(inner, rest.join('.'), value)
}

/**
 * Reads the form's values (by input name). Empty numbers are left out so the server's defaults
 * apply; a number the browser could not read is refused here, naming its field.
 */
export function readTaskForm(
  get: (name: string) => string | null,
  topology: Record<string, unknown> | null,
): FormRead<TaskSpecInput> {
  const issues: FieldIssue[] = []
  const body: Record<string, unknown> = {}
  const name = (get('name') ?? '').trim()
  if (name === '') issues.push({ field: 'name', message: 'give the task a name' })
  body.name = name
  body.purpose = get('purpose') ?? ''
  const dataset = (get('dataset') ?? '').trim()
  if (dataset !== '') body.dataset = dataset
  const preset = get('model.preset') ?? 'mnist-2nn'
  if (preset === 'custom') {
    if (topology === null)
      issues.push({
        field: 'model.topology',
        message: 'choose a TF.js model.json or topology file',
      })
    body.model = { preset: 'custom', topology: topology ?? {} }
  } else body.model = { preset }
  const optimizer = get('train.optimizer')
  if (optimizer) put(body, 'train.optimizer', optimizer)
  /** Puts the field's number in the body; empty is left out (or refused where `required`). */
  const readNumber = (field: string, required = '') => {
    const text = (get(field) ?? '').trim()
    if (text === '') {
      if (required) issues.push({ field, message: required })
      return
    }
    const value = Number(text)
    if (!Number.isFinite(value)) issues.push({ field, message: 'must be a number' })
    else put(body, field, value)
  }
  for (const field of NUMBER_FIELDS) readNumber(field)
  // A checkbox is in the form's data only when it is on.
  if (get('privacy') !== null) {
    body.privacy = {}
    for (const field of PRIVACY_NUMBER_FIELDS)
      readNumber(field, PRIVACY_REQUIRED.includes(field) ? 'needed for differential privacy' : '')
    const mode = get('privacy.mode')
    if (mode) put(body, 'privacy.mode', mode)
  }
  if (get('secureAggregation') !== null) {
    body.secureAggregation = true
    if ((get('secureAggregation.threshold') ?? '').trim() !== '') {
      body.secureAggregation = {}
      readNumber('secureAggregation.threshold')
    }
  }
  return issues.length > 0
    ? { ok: false, issues }
    : { ok: true, value: body as unknown as TaskSpecInput }
}

/** What a private task would spend, as the form stands. */
export interface PrivacySpend {
  /** Devices a round selects, and the population they are sampled from (null: not given). */
  selected: number
  population: number | null
  q: number
  delta: number
  rounds: number
  /** ε after one round, and after every round of the task, at `delta`. */
  perRound: number
  total: number
  budget: number | null
}

/**
 * The ε one round and the whole task would spend (if every round ran), from the form's fields:
 * q = ⌈overSelect × clientsPerRound⌉ / population as the coordinator counts it, or q = 1 without
 * a population (the most it can be). Empty round fields take the coordinator's defaults.
 */
export function estimateSpend(
  get: (name: string) => string | null,
): { ok: true; value: PrivacySpend } | { ok: false; message: string } {
  const number = (name: string, fallback: number | null) => {
    const text = (get(name) ?? '').trim()
    return text === '' ? fallback : Number(text)
  }
  const sigma = number('privacy.noiseMultiplier', null)
  if (sigma === null) return { ok: false, message: 'Give σ to see what ε a round would spend.' }
  const rounds = number('rounds.total', SPEND_DEFAULTS.total)!
  const clientsPerRound = number('rounds.clientsPerRound', SPEND_DEFAULTS.clientsPerRound)!
  const overSelect = number('rounds.overSelect', SPEND_DEFAULTS.overSelect)!
  const delta = number('privacy.delta', SPEND_DEFAULTS.delta)!
  const population = number('privacy.population', null)
  const budget = number('privacy.epsilonBudget', null)
  const selected = selectedPerRound({ overSelect, clientsPerRound })
  // As the coordinator's samplingRate: never above 1.
  const q = population === null ? 1 : Math.min(1, selected / Math.max(selected, population, 1))
  try {
    const epsilon = (steps: number) => computeEpsilon({ q, sigma, steps, delta }).epsilon
    return {
      ok: true,
      value: {
        selected,
        population,
        q,
        delta,
        rounds,
        perRound: epsilon(1),
        total: epsilon(rounds),
        budget: budget !== null && Number.isFinite(budget) ? budget : null,
      },
    }
  } catch (error) {
    // The accountant names what it cannot count with (σ, δ, q or the rounds).
    return { ok: false, message: `No ε to show: ${(error as Error).message}.` }
  }
}

/** ε to three significant figures; ∞ where no noise bounds it. */
export const formatEpsilon = (epsilon: number) =>
  Number.isFinite(epsilon) ? String(Number(epsilon.toPrecision(3))) : '∞'

/** The line under the privacy fields. */
export function spendText(spend: PrivacySpend): string {
  const { selected, population, q, delta, rounds, perRound, total, budget } = spend
  const rate =
    population === null
      ? 'q = 1: without a population, the most a round can spend'
      : q === 1
        ? `q = 1: ${selected} devices a round from ${population}`
        : `q = ${selected}/${population}`
  const parts = [
    `One round: ε ${formatEpsilon(perRound)} at δ ${delta} (${rate}).`,
    `All ${rounds} round${rounds === 1 ? '' : 's'}: ε ${formatEpsilon(total)}.`,
  ]
  if (budget !== null)
    parts.push(
      perRound > budget
        ? `One round alone passes the budget of ${budget}: the coordinator will refuse the task.`
        : total > budget
          ? `That passes the budget of ${budget}: the task stops before the round that would pass it.`
          : `Within the budget of ${budget}.`,
    )
  return parts.join(' ')
}
