import { describe, expect, it } from 'vitest'
import type { DatasetSpec } from '../../shared/protocol/index.ts'
import { EmbedError, encodeExamples, MAX_BATCH, type ExampleInput } from './examples.ts'

const photos: DatasetSpec = {
  name: 'leaves',
  description: '',
  tags: [],
  features: { kind: 'image', height: 2, width: 2, channels: 3 },
  classes: ['healthy', 'rust', 'blight'],
  deviceLabelling: true,
}
const gray: DatasetSpec = {
  ...photos,
  features: { kind: 'image', height: 1, width: 2, channels: 1 },
}
const color: DatasetSpec = {
  ...gray,
  features: { kind: 'image', height: 1, width: 2, channels: 3 },
}
const plants: DatasetSpec = {
  name: 'plants',
  description: '',
  tags: [],
  features: {
    kind: 'tabular',
    columns: [
      { name: 'moisture', scaling: { kind: 'minmax', min: 0, max: 100 } },
      { name: 'temperature', scaling: { kind: 'standard', mean: 20, std: 5 } },
      { name: 'light' },
    ],
  },
  classes: ['fine', 'thirsty', 'drowning'],
  deviceLabelling: true,
}

/** The refusal `encodeExamples` throws: its field and message. */
function refusal(spec: DatasetSpec, inputs: unknown): { field?: string; message: string } {
  try {
    encodeExamples(spec, inputs as ExampleInput[])
  } catch (error) {
    expect(error).toBeInstanceOf(EmbedError)
    const e = error as EmbedError
    expect(e.code).toBe('invalid_request')
    return { ...(e.field ? { field: e.field } : {}), message: e.message }
  }
  throw new Error('it was not refused')
}

describe('encodeExamples: images', () => {
  it('takes bytes in the dataset’s shape, labelled by class name or index', () => {
    const a = Uint8Array.from({ length: 12 }, (_, i) => i * 20)
    const got = encodeExamples(photos, [
      { features: a, label: 'rust' },
      { features: Array.from(a, (v) => 255 - v), label: 2 },
    ])
    expect(got.count).toBe(2)
    expect(got.shape).toEqual([2, 2, 3])
    expect(got.features).toBeInstanceOf(Uint8Array)
    expect([...got.features.subarray(0, 12)]).toEqual([...a])
    expect(got.features[12]).toBe(255)
    expect([...got.labels]).toEqual([1, 2])
  })

  it('reads an ImageData of the dataset’s size as RGB, or as luma for grayscale', () => {
    const rgba = new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 128])
    const rgb = encodeExamples(color, [{ features: { width: 2, height: 1, data: rgba }, label: 0 }])
    expect([...rgb.features]).toEqual([255, 0, 0, 0, 0, 255])
    const luma = encodeExamples(gray, [{ features: { width: 2, height: 1, data: rgba }, label: 0 }])
    expect([...luma.features]).toEqual([76, 29])
    expect(refusal(gray, [{ features: { width: 1, height: 2, data: rgba }, label: 0 }])).toEqual({
      field: 'examples[0].features',
      message: "examples[0].features: an image of 1×2, the dataset's are 2×1",
    })
  })

  it('refuses a batch with one bad example, naming the example and the value', () => {
    const good = { features: new Uint8Array(12), label: 0 }
    expect(refusal(photos, [good, { features: new Uint8Array(11), label: 0 }]).field).toBe(
      'examples[1].features',
    )
    for (const bad of [256, -1, 1.5, Number.NaN, '7']) {
      const values: unknown[] = Array.from({ length: 12 }, () => 0)
      values[3] = bad
      expect(refusal(photos, [good, { features: values, label: 0 }]).field).toBe(
        'examples[1].features[3]',
      )
    }
    expect(refusal(photos, [{ features: 'pixels', label: 0 }]).field).toBe('examples[0].features')
    expect(refusal(photos, [{ ...good, label: 'mildew' }])).toEqual({
      field: 'examples[0].label',
      message: 'examples[0].label: "mildew" is none of the classes (healthy, rust, blight)',
    })
    for (const label of [3, -1, 0.5, null, undefined])
      expect(refusal(photos, [{ ...good, label }]).field).toBe('examples[0].label')
    expect(refusal(photos, [good, null]).field).toBe('examples[1]')
  })

  it('refuses no examples, more than a call may carry, and what is no array', () => {
    expect(refusal(photos, []).field).toBe('examples')
    expect(refusal(photos, 'examples').field).toBe('examples')
    const many = Array.from({ length: MAX_BATCH + 1 }, () => ({
      features: new Uint8Array(12),
      label: 0,
    }))
    expect(refusal(photos, many).message).toContain(`at most ${MAX_BATCH}`)
  })
})

describe('encodeExamples: tabular rows', () => {
  it('scales each column as the spec says, by name or in column order', () => {
    const got = encodeExamples(plants, [
      { features: { moisture: 25, temperature: 30, light: 6 }, label: 'thirsty' },
      { features: [100, 15, 0.5], label: 0 },
    ])
    expect(got.shape).toEqual([3])
    expect(got.features).toBeInstanceOf(Float32Array)
    expect([...got.features]).toEqual([0.25, 2, 6, 1, -1, 0.5])
    expect([...got.labels]).toEqual([1, 0])
  })

  it('names the column that is missing, unknown, not a number or scales out of range', () => {
    expect(refusal(plants, [{ features: { moisture: 1, light: 2 }, label: 0 }])).toEqual({
      field: 'examples[0].features.temperature',
      message: 'examples[0].features.temperature: missing',
    })
    expect(
      refusal(plants, [{ features: { moisture: 1, temperature: 2, light: 3, wind: 4 }, label: 0 }])
        .field,
    ).toBe('examples[0].features.wind')
    expect(
      refusal(plants, [{ features: { moisture: '1', temperature: 2, light: 3 }, label: 0 }]).field,
    ).toBe('examples[0].features.moisture')
    expect(refusal(plants, [{ features: [1, Number.POSITIVE_INFINITY, 3], label: 0 }]).field).toBe(
      'examples[0].features[1] (temperature)',
    )
    expect(refusal(plants, [{ features: [1, 2, 1e39], label: 0 }]).message).toContain(
      'scales out of range',
    )
    expect(refusal(plants, [{ features: [1, 2], label: 0 }]).message).toContain(
      'the dataset has 3 columns (moisture, temperature, light)',
    )
  })
})
