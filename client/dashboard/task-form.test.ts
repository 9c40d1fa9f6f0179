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
