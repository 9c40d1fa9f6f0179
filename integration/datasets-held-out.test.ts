// Held-out sets over real HTTP (issue 16): uploaded as multipart files in the formats data comes
// in (IDX, a zip of images in a folder per class, CSV), and every bad input refused with the file,
// entry or row and field named, the dataset's previous set kept as it was. Small files made here.
import { gzipSync } from 'node:zlib'
import { zipSync } from 'fflate'
import { encode as encodePng } from 'fast-png'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeIdx } from '../shared/data/formats/index.ts'
import type { DatasetView, ErrorIssue } from '../shared/protocol/index.ts'
import { startCoordinator, type Running } from './harness.ts'

const LIMITS = { maxBodyBytes: 256 * 1024, maxExpandedBytes: 512 * 1024, maxExamples: 500 }

const images = (n: number, side = 4) =>
  encodeIdx(
    Uint8Array.from({ length: n * side * side }, (_, i) => i % 256),
    [n, side, side],
  )
const labels = (values: number[]) => encodeIdx(Uint8Array.from(values), [values.length])
const png = (side: number, value: number) =>
  encodePng({
    width: side,
    height: side,
    channels: 3,
    depth: 8,
    data: new Uint8Array(side * side * 3).fill(value),
  })

describe('held-out sets over HTTP', () => {
  let running: Running
  const put = (name: string, files: [string, Uint8Array][], query = '') => {
    const form = new FormData()
    for (const [file, bytes] of files)
      form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>]), file)
    return running.admin.call(`/api/v1/datasets/${name}/held-out${query}`, {
      method: 'PUT',
      body: form,
    })
  }
  const refusal = async (r: Response) => {
    expect(r.status).toBe(400)
    return ((await r.json()) as { error: { code: string; issues: ErrorIssue[] } }).error
  }
  const heldOut = async (name: string) =>
    ((await (await running.admin.call(`/api/v1/datasets/${name}`)).json()) as DatasetView).heldOut
  const declare = (spec: object) =>
    running.admin.call('/api/v1/datasets', { method: 'POST', body: JSON.stringify(spec) })

  beforeAll(async () => {
    running = await startCoordinator({ heldOutLimits: LIMITS })
    const classes = ['rose', 'tulip', 'daisy']
    for (const spec of [
      { name: 'gray', features: { kind: 'image', height: 4, width: 4, channels: 1 }, classes },
      { name: 'photos', features: { kind: 'image', height: 4, width: 4, channels: 3 }, classes },
      {
        name: 'table',
        features: {
          kind: 'tabular',
          columns: [
            { name: 'age' },
            { name: 'height', scaling: { kind: 'minmax', min: 100, max: 200 } },
          ],
        },
        classes,
      },
    ])
      expect((await declare(spec)).status).toBe(201)
  })
  afterAll(() => running.close())

  it('takes two IDX files, plain or gzipped, and counts the set per class', async () => {
    const r = await put('gray', [
      ['t10k-images', images(6)],
      ['t10k-labels.gz', gzipSync(labels([0, 1, 1, 2, 2, 2]))],
    ])
    expect(r.status).toBe(200)
    const view = (await r.json()) as DatasetView
    expect(view.heldOut).toMatchObject({ examples: 6, labels: [1, 2, 3] })
    expect(view.heldOut?.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(await heldOut('gray')).toEqual(view.heldOut)
  })

  it('refuses bad IDX files by file and field, keeping the set it had', async () => {
    const before = await heldOut('gray')
    const cases: [string, [string, Uint8Array][], Partial<ErrorIssue>][] = [
      [
        'wrong magic',
        [
          ['a', labels([0])],
          ['b', labels([0])],
        ],
        { field: 'magic' },
      ],
      [
        'wrong dimensions',
        [
          ['imgs', images(2, 5)],
          ['lbls', labels([0, 1])],
        ],
        { file: 'imgs', field: 'dimensions' },
      ],
      [
        'truncated',
        [
          ['imgs', images(2).subarray(0, 30)],
          ['lbls', labels([0, 1])],
        ],
        { file: 'imgs' },
      ],
      [
        'label outside the classes',
        [
          ['imgs', images(2)],
          ['lbls', labels([0, 7])],
        ],
        { file: 'lbls', field: 'label' },
      ],
      [
        'counts that differ',
        [
          ['imgs', images(3)],
          ['lbls', labels([0, 1])],
        ],
        { field: 'count' },
      ],
    ]
    for (const [why, files, issue] of cases) {
      const error = await refusal(await put('gray', files))
      expect(error.code, why).toBe('invalid_request')
      expect(error.issues[0], why).toMatchObject(issue)
      expect(error.issues[0]?.message, why).toContain(`file ${issue.file ?? ''}`)
    }
    expect(await heldOut('gray')).toEqual(before)
  })

  it('bounds the body, what it expands to and the examples', async () => {
    const before = await heldOut('gray')
    const big = await put('gray', [
      ['imgs', new Uint8Array(300 * 1024)],
      ['lbls', labels([0])],
    ])
    expect(big.status).toBe(413)
    // A gzip bomb: 4 MiB of zeros in a few kB, refused as it inflates past 512 KiB.
    const bomb = gzipSync(new Uint8Array(4 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(LIMITS.maxBodyBytes)
    const expanded = await refusal(
      await put('gray', [
        ['imgs.gz', bomb],
        ['lbls', labels([0])],
      ]),
    )
    expect(expanded.issues[0]).toMatchObject({ file: 'imgs.gz' })
    const many = await refusal(
      await put('gray', [
        ['imgs', images(501)],
        ['lbls', labels(new Array<number>(501).fill(0))],
      ]),
    )
    expect(many.issues[0]?.message).toMatch(/501|limit/)
    expect(await heldOut('gray')).toEqual(before)
  })

  it('refuses what is not a held-out upload: no files, three, other fields, JSON', async () => {
    const none = await refusal(await put('gray', []))
    expect(none.issues[0]?.field).toBe('file')
    const three = await refusal(
      await put('gray', [
        ['a', images(1)],
        ['b', labels([0])],
        ['c', labels([0])],
      ]),
    )
    expect(three.issues[0]?.field).toBe('file')
    const form = new FormData()
    form.append('file', new Blob([images(1) as Uint8Array<ArrayBuffer>]), 'a')
    form.append('note', 'hello')
    const other = await running.admin.call('/api/v1/datasets/gray/held-out', {
      method: 'PUT',
      body: form,
    })
    expect((await refusal(other)).issues[0]?.field).toBe('note')
    const json = await running.admin.call('/api/v1/datasets/gray/held-out', {
      method: 'PUT',
      body: JSON.stringify({ file: 'x' }),
    })
    expect(json.status).toBe(415)
    expect(
      (
        await put('nope', [
          ['a', images(1)],
          ['b', labels([0])],
        ])
      ).status,
    ).toBe(404)
  })

  it('takes a zip with a folder per class, resizing odd sizes unless told not to', async () => {
    const zip = zipSync({
      'garden/rose/1.png': png(4, 10),
      'garden/tulip/1.png': png(4, 20),
      'garden/daisy/big.png': png(8, 30),
    })
    const r = await put('photos', [['garden.zip', zip]])
    expect(r.status).toBe(200)
    const view = (await r.json()) as DatasetView & { notes: string[] }
    expect(view.heldOut).toMatchObject({ examples: 3, labels: [1, 1, 1] })
    expect(view.notes.join(' ')).toMatch(/resized/)
    const before = view.heldOut
    const strict = await refusal(await put('photos', [['garden.zip', zip]], '?resize=false'))
    expect(strict.issues[0]).toMatchObject({ file: 'garden.zip', entry: 'garden/daisy/big.png' })
    expect(strict.issues[0]?.message).toMatch(/8×8|8x8/)
    const bad = (entries: Record<string, Uint8Array>) =>
      put('photos', [['bad.zip', zipSync(entries)]])
    const text = await refusal(
      await bad({ 'rose/1.png': png(4, 1), 'rose/notes.txt': new TextEncoder().encode('hi') }),
    )
    expect(text.issues[0]).toMatchObject({ entry: 'rose/notes.txt' })
    const climbing = await refusal(
      await bad({ 'rose/1.png': png(4, 1), '../evil/1.png': png(4, 1) }),
    )
    expect(climbing.issues[0]?.entry).toContain('..')
    const unknown = await refusal(await bad({ 'rose/1.png': png(4, 1), 'cactus/1.png': png(4, 1) }))
    expect(unknown.issues[0]?.message).toContain('cactus')
    const huge = await refusal(
      await bad({ 'rose/1.png': png(4, 1), 'rose/zeros.png': new Uint8Array(2 * 1024 * 1024) }),
    )
    expect(huge.issues[0]?.file).toBe('bad.zip')
    expect(await heldOut('photos')).toEqual(before)
  })

  it('takes a CSV for a tabular dataset, refusing bad rows by row and column', async () => {
    const csv = (text: string) => new TextEncoder().encode(text)
    const ok = await put('table', [
      ['people.csv', csv('age,height,label\n31,180,rose\n42,150,daisy\n')],
    ])
    expect(ok.status).toBe(200)
    const before = ((await ok.json()) as DatasetView).heldOut
    expect(before).toMatchObject({ examples: 2, labels: [1, 0, 1] })
    const bad = await refusal(
      await put('table', [
        ['people.csv', csv('age,height,label\n31,,rose\n42,tall,daisy\n50,170,cactus\n')],
      ]),
    )
    expect(bad.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'people.csv', row: 2, field: 'height' }),
        expect.objectContaining({ file: 'people.csv', row: 3, field: 'height' }),
        expect.objectContaining({ file: 'people.csv', row: 4 }),
      ]),
    )
    expect(await heldOut('table')).toEqual(before)
  })

  it('removes a held-out set: its tasks then say they have no held-out evaluation', async () => {
    expect(
      (await running.admin.call('/api/v1/datasets/table/held-out', { method: 'DELETE' })).status,
    ).toBe(204)
    expect(await heldOut('table')).toBeNull()
    expect(
      (await running.admin.call('/api/v1/datasets/table/held-out', { method: 'DELETE' })).status,
    ).toBe(404)
    const task = await running.admin.createTask({
      name: 'table',
      purpose: 'Classify rows.',
      model: { preset: 'tabular-mlp' },
      dataset: 'table',
    })
    expect(task).toMatchObject({ heldOut: null, classes: ['rose', 'tulip', 'daisy'] })
    // A 4×4 image flattened is 16 inputs: the MLP fits, and its dataset has a held-out set.
    const gray = await running.admin.createTask({
      name: 'gray',
      purpose: 'Classify tiny images.',
      model: { preset: 'tabular-mlp' },
      dataset: 'gray',
    })
    expect(gray.heldOut?.examples).toBe(6)
  })
})
