import { describe, expect, it } from 'vitest'
import { computeEpsilon } from '../../shared/privacy/index.ts'
import {
  PrivacySettingsSchema,
  RoundSettingsSchema,
  selectedPerRound as coordinatorSelects,
} from '../../shared/protocol/index.ts'
import {
  estimateSpend,
  formatEpsilon,
  readTaskForm,
  readTopology,
  selectedPerRound,
  SPEND_DEFAULTS,
  spendText,
} from './task-form.ts'

const form = (values: Record<string, string>) => (name: string) => values[name] ?? null

describe('readTaskForm', () => {
  it('sends a sized preset bare: the coordinator sizes it from the dataset', () => {
    for (const preset of ['cifar-cnn', 'tabular-mlp']) {
      const read = readTaskForm(
        form({ name: 'Mine', purpose: 'p', dataset: 'flowers', 'model.preset': preset }),
        null,
      )
      expect(read).toMatchObject({ ok: true, value: { dataset: 'flowers', model: { preset } } })
    }
  })

  it('nests dotted fields and leaves empty numbers to the server defaults', () => {
    const read = readTaskForm(
      form({
        name: '  Digits  ',
        purpose: 'Read digits',
        dataset: 'mnist',
        'model.preset': 'synet',
        'train.optimizer': 'adadelta',
        'train.learningRate': '1',
        'train.batchSize': '',
        'rounds.total': '5',
        'rounds.deadlineSeconds': '90.5',
      }),
      null,
    )
    expect(read).toEqual({
      ok: true,
      value: {
        name: 'Digits',
        purpose: 'Read digits',
        dataset: 'mnist',
        model: { preset: 'synet' },
        train: { optimizer: 'adadelta', learningRate: 1 },
        rounds: { total: 5, deadlineSeconds: 90.5 },
      },
    })
  })

  it('names the fields it cannot read', () => {
    const read = readTaskForm(
      form({ name: ' ', 'model.preset': 'custom', 'rounds.total': 'abc' }),
      null,
    )
    expect(read).toEqual({
      ok: false,
      issues: [
        { field: 'name', message: 'give the task a name' },
        { field: 'model.topology', message: 'choose a TF.js model.json or topology file' },
        { field: 'rounds.total', message: 'must be a number' },
      ],
    })
  })

  it('sends an uploaded topology as a custom model', () => {
    const topology = { class_name: 'Sequential', config: { layers: [] } }
    const read = readTaskForm(form({ name: 'Mine', 'model.preset': 'custom' }), topology)
    expect(read.ok && read.value.model).toEqual({ preset: 'custom', topology })
  })
})

describe('readTaskForm with privacy', () => {
  const base = { name: 'Private digits', 'model.preset': 'mnist-2nn' }
  const dp = {
    'privacy.clipNorm': '1.5',
    'privacy.noiseMultiplier': ' 1.1 ',
    'privacy.delta': '',
    'privacy.epsilonBudget': '8',
    'privacy.mode': 'distributed',
    'privacy.population': '1000',
  }

  it('sends no privacy while its checkbox is off, whatever its fields hold', () => {
    // FormData leaves an unchecked checkbox out; the hidden fields are still in it.
    const read = readTaskForm(form({ ...base, ...dp, 'secureAggregation.threshold': '0.7' }), null)
    expect(read.ok).toBe(true)
    expect(read.ok && 'privacy' in read.value).toBe(false)
    expect(read.ok && 'secureAggregation' in read.value).toBe(false)
  })

  it('sends the numbers while it is on, an empty δ left to the default', () => {
    const read = readTaskForm(form({ ...base, ...dp, privacy: 'on' }), null)
    expect(read.ok && read.value.privacy).toEqual({
      clipNorm: 1.5,
      noiseMultiplier: 1.1,
      epsilonBudget: 8,
      mode: 'distributed',
      population: 1000,
    })
  })

  it('leaves an empty population out, and asks for what has no default', () => {
    const read = readTaskForm(
      form({ ...base, privacy: 'on', 'privacy.mode': 'central', 'privacy.noiseMultiplier': '0' }),
      null,
    )
    expect(read).toEqual({
      ok: false,
      issues: [
        { field: 'privacy.clipNorm', message: 'needed for differential privacy' },
        { field: 'privacy.epsilonBudget', message: 'needed for differential privacy' },
      ],
    })
    const full = readTaskForm(
      form({ ...base, ...dp, 'privacy.population': '', privacy: 'on' }),
      null,
    )
    expect(full.ok && full.value.privacy).not.toHaveProperty('population')
  })

  it('sends secure aggregation as true, or with the threshold given', () => {
    const secure = (threshold: string) =>
      readTaskForm(
        form({ ...base, secureAggregation: 'on', 'secureAggregation.threshold': threshold }),
        null,
      )
    const plain = secure(' ')
    expect(plain.ok && plain.value.secureAggregation).toBe(true)
    const tuned = secure('0.75')
    expect(tuned.ok && tuned.value.secureAggregation).toEqual({ threshold: 0.75 })
    expect(tuned.ok && 'privacy' in tuned.value).toBe(false)
    expect(secure('most')).toEqual({
      ok: false,
      issues: [{ field: 'secureAggregation.threshold', message: 'must be a number' }],
    })
  })
})

describe('estimateSpend', () => {
  const spend = (values: Record<string, string>) => {
    const read = estimateSpend(form(values))
    if (!read.ok) throw new Error(read.message)
    return read.value
  }

  it("takes the coordinator's defaults for the fields left empty", () => {
    expect(SPEND_DEFAULTS).toEqual({
      total: RoundSettingsSchema.parse({}).total,
      clientsPerRound: RoundSettingsSchema.parse({}).clientsPerRound,
      overSelect: RoundSettingsSchema.parse({}).overSelect,
      delta: PrivacySettingsSchema.parse({ clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 1 })
        .delta,
    })
  })

  it("selects a round's devices as the coordinator does", () => {
    const settings = [
      { overSelect: 1.3, clientsPerRound: 10 },
      { overSelect: 1, clientsPerRound: 3 },
      { overSelect: 1.5, clientsPerRound: 2 },
      { overSelect: 1.1, clientsPerRound: 10 },
    ]
    for (const rounds of settings)
      expect(selectedPerRound(rounds), JSON.stringify(rounds)).toBe(coordinatorSelects(rounds))
  })

  it('counts one round and every round at q = ⌈overSelect × clientsPerRound⌉ / population', () => {
    const value = spend({
      'privacy.noiseMultiplier': '1.1',
      'privacy.population': '1000',
      'privacy.epsilonBudget': '8',
      'rounds.total': '50',
    })
    // The defaults: ⌈1.3 × 10⌉ = 13 devices a round, δ = 1e-5.
    const q = 13 / 1000
    expect(value).toEqual({
      selected: 13,
      population: 1000,
      q,
      delta: 1e-5,
      rounds: 50,
      perRound: computeEpsilon({ q, sigma: 1.1, steps: 1, delta: 1e-5 }).epsilon,
      total: computeEpsilon({ q, sigma: 1.1, steps: 50, delta: 1e-5 }).epsilon,
      budget: 8,
    })
    expect(value.perRound).toBeLessThan(value.total)
    expect(value.total).toBeLessThan(8)
    expect(spendText(value)).toBe(
      `One round: ε ${formatEpsilon(value.perRound)} at δ 0.00001 (q = 13/1000). ` +
        `All 50 rounds: ε ${formatEpsilon(value.total)}. Within the budget of 8.`,
    )
  })

  it('counts q = 1 without a population, and says when the budget stops the task', () => {
    const value = spend({
      'privacy.noiseMultiplier': '2',
      'privacy.delta': '1e-6',
      'privacy.epsilonBudget': '3',
      'rounds.clientsPerRound': '4',
      'rounds.overSelect': '1',
    })
    expect(value).toMatchObject({ selected: 4, population: null, q: 1, delta: 1e-6, rounds: 20 })
    expect(value.perRound).toBe(computeEpsilon({ q: 1, sigma: 2, steps: 1, delta: 1e-6 }).epsilon)
    expect(value.total).toBe(computeEpsilon({ q: 1, sigma: 2, steps: 20, delta: 1e-6 }).epsilon)
    const text = spendText(value)
    expect(text).toContain('q = 1: without a population, the most a round can spend')
    expect(text).toContain(`All 20 rounds: ε ${formatEpsilon(value.total)}.`)
    expect(text).toContain('passes the budget of 3: the task stops before the round')
    expect(spendText({ ...value, budget: value.perRound / 2 })).toContain(
      'One round alone passes the budget',
    )
  })

  it('caps q at 1 where the population is smaller than a round', () => {
    const value = spend({ 'privacy.noiseMultiplier': '1', 'privacy.population': '5' })
    expect(value.q).toBe(1)
    expect(spendText(value)).toContain('(q = 1: 13 devices a round from 5)')
  })

  it('says what it needs, or what the accountant refused', () => {
    expect(estimateSpend(form({}))).toEqual({
      ok: false,
      message: 'Give σ to see what ε a round would spend.',
    })
    const refused = estimateSpend(form({ 'privacy.noiseMultiplier': '1', 'privacy.delta': '2' }))
    expect(refused.ok ? null : refused.message).toMatch(/^No ε to show: delta 2 /)
  })

  it('writes ε to three figures, and ∞ without noise', () => {
    expect(formatEpsilon(1.178202928)).toBe('1.18')
    expect(formatEpsilon(30.126)).toBe('30.1')
    expect(formatEpsilon(Infinity)).toBe('∞')
    expect(spend({ 'privacy.noiseMultiplier': '0' }).perRound).toBe(Infinity)
  })
})

describe('readTopology', () => {
  const topology = { class_name: 'Sequential', config: { name: 'm', layers: [] } }
  it('takes a whole model.json or the topology alone', () => {
    expect(readTopology(JSON.stringify({ modelTopology: topology, weightsManifest: [] }))).toEqual({
      ok: true,
      value: topology,
    })
    expect(readTopology(JSON.stringify(topology))).toEqual({ ok: true, value: topology })
  })
  it('says what is wrong with anything else', () => {
    const message = (text: string) => {
      const read = readTopology(text)
      return read.ok ? null : read.issues[0]?.message
    }
    expect(message('{nope')).toBe('the file is not JSON')
    expect(message('[1]')).toBe('the file holds no JSON object')
    expect(message('{"layers":[]}')).toMatch(/no TF.js Layers topology/)
  })
})
