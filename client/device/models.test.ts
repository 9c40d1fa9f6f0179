import { describe, expect, it } from 'vitest'
import type { Assignment, DownloadEncoding } from '../../shared/protocol/index.ts'
import {
  baseWeights,
  decodeContainer,
  DownloadMismatchError,
  encodeContainer,
  encodeDeltaModel,
  encodeFloat16Model,
  sha256Hex,
} from '../../shared/tensors/index.ts'
import { createDeviceHttp } from './http.ts'
import {
  baseKey,
  downloadModel,
  memoryModelStore,
  ModelDamagedError,
  type ModelDownload,
  modelSource,
} from './models.ts'

const bytes = encodeContainer({
  tensors: [{ name: 'w', shape: [2], dtype: 'float32', data: new Float32Array([1, 2]) }],
})

/** A coordinator serving `served` at /m, counting downloads. */
function serving(served: Uint8Array) {
  let downloads = 0
  const http = createDeviceHttp({
    server: 'http://c.test',
    fetch: () => {
      downloads++
      return Promise.resolve(new Response(served as Uint8Array<ArrayBuffer>))
    },
  })
  return { http, downloads: () => downloads }
}

describe('downloading a model', () => {
  it('answers bytes that hash to the name, and refuses others', async () => {
    const hash = await sha256Hex(bytes)
    const { http } = serving(bytes)
    expect(await downloadModel(http, { hash, url: '/m' })).toEqual(bytes)
    const damaged = bytes.slice()
    damaged[damaged.length - 1]! ^= 0xff
    await expect(downloadModel(serving(damaged).http, { hash, url: '/m' })).rejects.toBeInstanceOf(
      ModelDamagedError,
    )
  })
})

describe('the model source', () => {
  it('downloads once into the store, then answers from memory, or from the store', async () => {
    const hash = await sha256Hex(bytes)
    const assignment = { taskId: 't', model: { hash, url: '/m' } } as Assignment
    const store = memoryModelStore()
    const coordinator = serving(bytes)
    const told: ModelDownload[] = []
    const model = modelSource({ http: coordinator.http, store, onDownload: (d) => told.push(d) })
    const weights = await model(assignment)
    expect(told).toEqual([{ taskId: 't', hash, bytes: bytes.length, encoding: 'float32' }])
    expect(Array.from(weights[0]!.data)).toEqual([1, 2])
    expect(await model(assignment)).toBe(weights)
    // By its hash: the task serves no delta, so no base is kept.
    expect(store.size).toBe(1)
    expect(await store.get(hash)).toEqual(bytes)
    // Another device with the same store (a reload): nothing downloaded.
    const again = modelSource({ http: coordinator.http, store })
    expect(Array.from((await again(assignment))[0]!.data)).toEqual([1, 2])
    expect(coordinator.downloads()).toBe(1)
  })

  it('keeps a float32 model as the base, once, where the task serves deltas', async () => {
    const hash = await sha256Hex(bytes)
    const downloads: DownloadEncoding[] = ['float32', 'delta']
    const assignment = {
      taskId: 't',
      model: { hash, url: '/m' },
      compression: { uploads: ['float32'], downloads },
    } as Assignment
    const store = memoryModelStore()
    const coordinator = serving(bytes)
    await modelSource({ http: coordinator.http, store })(assignment)
    expect(store.size).toBe(1)
    expect(await store.get(baseKey('t'))).toEqual(bytes)
    // A reload resumes it from the base: nothing downloaded.
    await modelSource({ http: coordinator.http, store })(assignment)
    expect(coordinator.downloads()).toBe(1)
  })
})

describe('the model source, where the task serves float16 and deltas', () => {
  const H1 = '1'.repeat(64)
  const H2 = '2'.repeat(64)
  const weights = (v: number) => [
    { name: 'w', shape: [300], dtype: 'float32' as const, data: new Float32Array(300).fill(v) },
  ]
  const served: DownloadEncoding[] = ['float32', 'float16', 'delta']
  const assignment = (hash: string) =>
    ({
      taskId: 't',
      model: { hash, url: `/m/${hash}` },
      compression: { uploads: ['float32'], downloads: served },
    }) as Assignment

  /** Serves model 1 as float16 and model 2 as a delta from it, recording what was asked. */
  function coordinator(instead: Record<string, Uint8Array> = {}) {
    const asked: string[] = []
    const base = baseWeights(weights(0.1), 'float16')
    const answers: Record<string, Uint8Array> = {
      [`/m/${H1}?encoding=float16`]: encodeFloat16Model(weights(0.1), H1),
      [`/m/${H2}?encoding=delta&from=${H1}&fromEncoding=float16`]: encodeDeltaModel(
        { model: weights(0.3), hash: H2 },
        { weights: base, ref: { hash: H1, encoding: 'float16' } },
      ),
      ...instead,
    }
    const http = createDeviceHttp({
      server: 'http://c.test',
      fetch: (input) => {
        const path = (input as string).slice('http://c.test'.length)
        asked.push(path)
        const answer = answers[path]
        return Promise.resolve(
          answer
            ? new Response(answer as Uint8Array<ArrayBuffer>)
            : new Response('', { status: 404 }),
        )
      },
    })
    return { http, asked }
  }

  it('asks float16 while it holds nothing, then a delta from it; keeps the base, not the rebuilt model', async () => {
    const store = memoryModelStore()
    const { http, asked } = coordinator()
    const told: ModelDownload[] = []
    const model = modelSource({ http, store, onDownload: (d) => told.push(d) })
    const first = await model(assignment(H1))
    expect(first[0]!.data[0]).toBeCloseTo(0.1, 3)
    const second = await model(assignment(H2))
    expect(asked).toEqual([
      `/m/${H1}?encoding=float16`,
      `/m/${H2}?encoding=delta&from=${H1}&fromEncoding=float16`,
    ])
    // Each download told, with the bytes as they came; the model held again tells nothing.
    const sizes = [
      encodeFloat16Model(weights(0.1), H1).length,
      (await http.bytes(asked[1]!, 'again')).length,
    ]
    await model(assignment(H2))
    expect(told).toEqual([
      { taskId: 't', hash: H1, bytes: sizes[0], encoding: 'float16' },
      { taskId: 't', hash: H2, bytes: sizes[1], encoding: 'delta' },
    ])
    // Within one int8 step of the true 0.3: the step is |0.3 − 0.1| / 127.
    expect(Math.abs(second[0]!.data[0]! - 0.3)).toBeLessThan(0.2 / 127)
    expect(store.size).toBe(1)
    expect(decodeContainer((await store.get(baseKey('t')))!).metadata.model).toBe(H1)
    // A reload: the base comes from the store, so the next model is a delta again.
    const reloaded = coordinator()
    const again = modelSource({ http: reloaded.http, store })
    await again(assignment(H2))
    expect(reloaded.asked).toEqual([`/m/${H2}?encoding=delta&from=${H1}&fromEncoding=float16`])
    // Resuming model 1 after a reload is the float16 base held, nothing downloaded.
    const resumed = coordinator()
    expect(await modelSource({ http: resumed.http, store })(assignment(H1))).toEqual(first)
    expect(resumed.asked).toEqual([])
    // A base that does not read as one: the next model comes whole, and is the new base.
    await store.put(baseKey('t'), new Uint8Array([1, 2, 3]), 't')
    const damaged = coordinator()
    await modelSource({ http: damaged.http, store })(assignment(H1))
    expect(damaged.asked).toEqual([`/m/${H1}?encoding=float16`])
  })

  it('asks what `choose` picks, and refuses a download naming another model or base', async () => {
    const { http, asked } = coordinator()
    const model = modelSource({ http, choose: () => 'float16' })
    await model(assignment(H1))
    await expect(model(assignment(H2))).rejects.toThrow() // float16 of model 2 is not served here
    expect(asked).toEqual([`/m/${H1}?encoding=float16`, `/m/${H2}?encoding=float16`])
    // What answers a delta must name the model asked and the base held.
    const deltaPath = `/m/${H2}?encoding=delta&from=${H1}&fromEncoding=float16`
    const otherBase = { weights: weights(0), ref: { hash: H2, encoding: 'float32' as const } }
    for (const answer of [
      encodeFloat16Model(weights(0.1), H1),
      encodeDeltaModel({ model: weights(0.3), hash: H2 }, otherBase),
    ]) {
      const source = modelSource({ http: coordinator({ [deltaPath]: answer }).http })
      await source(assignment(H1))
      await expect(source(assignment(H2))).rejects.toThrow(DownloadMismatchError)
    }
  })
})
