// The readers in Chromium (vitest's browser project): pure JS, nothing from Node, and images
// that the browser itself encoded (canvas PNG and JPEG), read back by fast-png and jpeg-js.
import { gzipSync, strToU8, zipSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import type { DatasetSpec } from '../../protocol/datasets.ts'
import { encodeIdx, readHeldOut } from './index.ts'

const limits = { maxExpandedBytes: 1 << 20, maxExamples: 100 }

/** A 40×20 image of one colour, encoded by the browser. */
async function canvasImage(type: 'image/png' | 'image/jpeg', colour: string): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(40, 20)
  const context = canvas.getContext('2d')!
  context.fillStyle = colour
  context.fillRect(0, 0, 40, 20)
  const blob = await canvas.convertToBlob({ type, quality: 1 })
  return new Uint8Array(await blob.arrayBuffer())
}

describe('formats in the browser', () => {
  it('reads a zip of browser-made PNG and JPEG, resized and labelled', async () => {
    const spec: DatasetSpec = {
      name: 'colours',
      description: '',
      tags: [],
      features: { kind: 'image', height: 8, width: 8, channels: 3 },
      classes: ['red', 'blue'],
      deviceLabelling: true,
    }
    const zip = zipSync({
      red: { 'a.png': await canvasImage('image/png', '#ff0000') },
      blue: { 'b.jpg': await canvasImage('image/jpeg', '#0000ff') },
    })
    const r = readHeldOut([{ name: 'colours.zip', bytes: zip }], spec, limits)
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    expect([...r.examples.labels]).toEqual([0, 1])
    expect([...r.examples.features.subarray(0, 3)]).toEqual([255, 0, 0])
    const blue = [...r.examples.features.subarray(192, 195)]
    expect(blue[0]).toBeLessThan(10)
    expect(blue[2]).toBeGreaterThan(245)
    expect(r.notes).toContain('resized 2 of 2 images to 8×8 (bilinear; aspect not kept)')
  })

  it('reads gzipped IDX and CSV, and refuses a bomb', () => {
    const gray: DatasetSpec = {
      name: 'g',
      description: '',
      tags: [],
      features: { kind: 'image', height: 1, width: 2, channels: 1 },
      classes: ['a', 'b'],
      deviceLabelling: true,
    }
    const idx = readHeldOut(
      [
        { name: 'i.gz', bytes: gzipSync(encodeIdx(Uint8Array.of(1, 2), [1, 1, 2])) },
        { name: 'l.gz', bytes: gzipSync(encodeIdx(Uint8Array.of(1), [1])) },
      ],
      gray,
      limits,
    )
    expect(idx.ok && [...idx.examples.features]).toEqual([1, 2])
    const tabular: DatasetSpec = {
      ...gray,
      features: { kind: 'tabular', columns: [{ name: 'x' }] },
    }
    const csv = readHeldOut(
      [{ name: 't.csv', bytes: strToU8('x,label\n"1.5",b\n') }],
      tabular,
      limits,
    )
    expect(csv.ok && [...csv.examples.features]).toEqual([1.5])
    const bomb = readHeldOut(
      [{ name: 'b.csv', bytes: gzipSync(new Uint8Array(4 << 20)) }],
      tabular,
      limits,
    )
    expect(bomb.ok ? [] : bomb.problems).toEqual([
      { file: 'b.csv', message: 'gzip: expands beyond the limit of 1,048,576 bytes' },
    ])
  })
})
