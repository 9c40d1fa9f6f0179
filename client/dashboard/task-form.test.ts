import { describe, expect, it } from 'vitest'
import { readTaskForm, readTopology } from './task-form.ts'

const form = (values: Record<string, string>) => (name: string) => values[name] ?? null

describe('readTaskForm', () => {
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
