import { describe, expect, it } from 'vitest'
import type { Assignment } from '../../shared/protocol/index.ts'
import { encodeContainer, sha256Hex } from '../../shared/tensors/index.ts'
import { createDeviceHttp } from './http.ts'
import { downloadModel, memoryModelStore, ModelDamagedError, modelSource } from './models.ts'

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
    const model = modelSource({ http: coordinator.http, store })
    const weights = await model(assignment)
    expect(Array.from(weights[0]!.data)).toEqual([1, 2])
    expect(await model(assignment)).toBe(weights)
    expect(store.size).toBe(1)
    expect(await store.get(hash)).toEqual(bytes)
    // Another device with the same store (a reload): nothing downloaded.
    const again = modelSource({ http: coordinator.http, store })
    expect(Array.from((await again(assignment))[0]!.data)).toEqual([1, 2])
    expect(coordinator.downloads()).toBe(1)
  })
})
