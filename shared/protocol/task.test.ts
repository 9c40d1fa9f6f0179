import { describe, expect, it } from 'vitest'
import { describeIssues, TaskSpecSchema } from './index.ts'

const spec = (aggregation?: object) =>
  TaskSpecSchema.safeParse({
    name: 'x',
    purpose: 'p',
    model: { preset: 'mnist-2nn' },
    ...(aggregation ? { aggregation } : {}),
  })

describe('a task’s update bounds', () => {
  it('are adaptive by default; a fixed norm or "off" may be asked for', () => {
    expect(spec().data?.aggregation).toMatchObject({
      normBound: 'adaptive',
      weightBound: 'adaptive',
    })
    expect(spec({ normBound: 2.5, weightBound: 'off' }).data?.aggregation).toMatchObject({
      normBound: 2.5,
      weightBound: 'off',
    })
    expect(spec({ normBound: 'off' }).data?.aggregation.normBound).toBe('off')
  })

  it('refuses a bound that bounds nothing, naming the field', () => {
    for (const [aggregation, field] of [
      [{ normBound: 0 }, 'aggregation.normBound'],
      [{ normBound: -1 }, 'aggregation.normBound'],
      [{ normBound: Number.POSITIVE_INFINITY }, 'aggregation.normBound'],
      [{ normBound: 'median' }, 'aggregation.normBound'],
      [{ weightBound: 3 }, 'aggregation.weightBound'],
    ] as const) {
      const parsed = spec(aggregation)
      expect(parsed.success, JSON.stringify(aggregation)).toBe(false)
      expect(describeIssues(parsed.error!).map((i) => i.field)).toEqual([field])
    }
  })

  it('refuses bounds a private task would ignore, naming each', () => {
    const privacy = { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10, population: 1000 }
    const parsed = TaskSpecSchema.safeParse({
      name: 'x',
      purpose: 'p',
      model: { preset: 'mnist-2nn' },
      privacy,
      aggregation: { normBound: 5, weightBound: 'off' },
    })
    expect(parsed.success).toBe(false)
    const issues = describeIssues(parsed.error!)
    expect(issues.map((i) => i.field)).toEqual(['aggregation.normBound', 'aggregation.weightBound'])
    expect(issues[0]!.message).toContain('privacy.clipNorm')
    // Left out, the defaults stand (and do nothing there).
    const plain = TaskSpecSchema.safeParse({
      name: 'x',
      purpose: 'p',
      model: { preset: 'mnist-2nn' },
      privacy,
    })
    expect(plain.success).toBe(true)
  })
})

describe('a task’s model spec', () => {
  const model = (m: object) => TaskSpecSchema.safeParse({ name: 'x', purpose: 'p', model: m })

  it('takes the sized presets with their numbers optional, and keeps what it is given', () => {
    expect(model({ preset: 'cifar-cnn' }).data?.model).toEqual({ preset: 'cifar-cnn' })
    expect(model({ preset: 'cifar-cnn', classes: 3 }).data?.model).toEqual({
      preset: 'cifar-cnn',
      classes: 3,
    })
    const mlp = { preset: 'tabular-mlp', inputs: 12, hidden: [32, 16], classes: 4 }
    expect(model(mlp).data?.model).toEqual(mlp)
    expect(model({ preset: 'tabular-mlp', hidden: [] }).success).toBe(true)
  })

  it('refuses numbers out of bounds or on the wrong preset, naming the field', () => {
    for (const [m, field] of [
      [{ preset: 'cifar-cnn', classes: 1 }, 'model.classes'],
      [{ preset: 'cifar-cnn', classes: 257 }, 'model.classes'],
      [{ preset: 'cifar-cnn', classes: 2.5 }, 'model.classes'],
      [{ preset: 'cifar-cnn', inputs: 3 }, 'model.inputs'],
      [{ preset: 'tabular-mlp', inputs: 0 }, 'model.inputs'],
      [{ preset: 'tabular-mlp', inputs: 1001 }, 'model.inputs'],
      [{ preset: 'tabular-mlp', hidden: [64, 64, 64, 64, 64] }, 'model.hidden'],
      [{ preset: 'tabular-mlp', hidden: [2048] }, 'model.hidden.0'],
      [{ preset: 'tabular-mlp', hidden: [0] }, 'model.hidden.0'],
      [{ preset: 'mnist-2nn', classes: 3 }, 'model.classes'],
    ] as const) {
      const parsed = model(m)
      expect(parsed.success, JSON.stringify(m)).toBe(false)
      expect(describeIssues(parsed.error!).map((i) => i.field)).toEqual([field])
    }
  })
})

describe('a task’s compression', () => {
  const parse = (input: object) =>
    TaskSpecSchema.safeParse({ name: 'x', purpose: 'p', model: { preset: 'mnist-2nn' }, ...input })
  const fields = (input: object) => {
    const parsed = parse(input)
    return parsed.success ? [] : describeIssues(parsed.error).map((i) => i.field)
  }

  it('accepts float32 uploads alone by default, or the codecs it lists', () => {
    expect(parse({}).data?.compression).toEqual({ uploads: ['float32'], downloads: ['float32'] })
    expect(parse({ compression: { uploads: ['int8', 'bbit1'] } }).data?.compression).toEqual({
      uploads: ['int8', 'bbit1'],
      downloads: ['float32'],
    })
    const downloads = ['float32', 'float16', 'delta']
    expect(parse({ compression: { downloads } }).data?.compression.downloads).toEqual(downloads)
  })

  it('refuses an unknown codec, none, one twice or an unknown field, naming the field', () => {
    for (const [compression, field] of [
      [{ uploads: ['int4'] }, 'compression.uploads.0'],
      [{ uploads: [] }, 'compression.uploads'],
      [{ uploads: ['int8', 'int8'] }, 'compression.uploads'],
      [{ uploads: ['int8'], downloads: ['float16'] }, 'compression.downloads'],
      [{ uploads: 'int8' }, 'compression.uploads'],
      [{ downloads: ['float16'] }, 'compression.downloads'],
      [{ downloads: ['float32', 'int8'] }, 'compression.downloads.1'],
      [{ downloads: ['float32', 'delta', 'delta'] }, 'compression.downloads'],
      [{ downloads: [] }, 'compression.downloads'],
      [{ downloads: 'delta' }, 'compression.downloads'],
      [{ downloads: Array(4).fill('float32') }, 'compression.downloads'],
    ] as const)
      expect([...new Set(fields({ compression }))]).toEqual([field])
  })

  it('lets a central-DP task take any codec (the server clips what it decodes)', () => {
    const privacy = { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10 }
    for (const uploads of [['float32', 'int8'], ['float16'], ['bbit1', 'topk']])
      expect(fields({ privacy, compression: { uploads } })).toEqual([])
  })

  it('keeps a secure task to one codec, float32 or one bbitB, naming compression.uploads', () => {
    const rounds = { clientsPerRound: 5, minReports: 3 }
    const secure = (uploads: string[], more = {}) =>
      fields({ secureAggregation: true, rounds, compression: { uploads }, ...more })
    expect(secure(['float32'])).toEqual([])
    for (const b of [1, 2, 3, 4]) expect(secure([`bbit${b}`])).toEqual([])
    for (const uploads of [
      ['float32', 'int8'],
      ['int8'],
      ['float16'],
      ['topk'],
      ['bbit1', 'bbit2'],
      ['float32', 'bbit2'],
    ])
      expect(secure(uploads)).toEqual(['compression.uploads'])
  })

  it('refuses b-bit secure aggregation with privacy, whose sensitivity clipNorm no longer bounds', () => {
    const rounds = { clientsPerRound: 5, minReports: 3 }
    for (const mode of ['central', 'distributed'])
      expect(
        fields({
          secureAggregation: true,
          rounds,
          privacy: { clipNorm: 1, noiseMultiplier: 1, epsilonBudget: 10, mode },
          compression: { uploads: ['bbit2'] },
        }),
      ).toEqual(['compression.uploads'])
  })
})
