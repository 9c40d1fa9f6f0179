// Every committed round's model, downloadable in TF.js Layers format over real HTTP, and the
// hostile requests around it answered naming the field.
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevice, localTrainer } from '../client/device/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { subset } from '../shared/data/index.ts'
import { buildModel, setWeights } from '../shared/models/index.ts'
import { decodeContainer } from '../shared/tensors/index.ts'
import { ADMIN_TOKEN, type Running, startCoordinator, waitFor } from './harness.ts'

describe('per-round model download', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` }
  const errorOf = async (path: string) => {
    const response = await running.admin.call(path)
    const { error } = (await response.json()) as {
      error: { code: string; message: string; issues?: { field: string }[] }
    }
    return { status: response.status, code: error.code, field: error.issues?.[0]?.field }
  }

  it("serves each committed round's model, loadable by tf.loadLayersModel", async () => {
    const task = await running.admin.createTask({
      name: 'round models',
      purpose: 'download the model of each round',
      model: { preset: 'mnist-2nn' },
      rounds: { total: 2, clientsPerRound: 1, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
    })
    const examples = subset(
      (await loadMnist()).train,
      Array.from({ length: 100 }, (_, i) => i),
    )
    const device = createDevice({
      server: running.url,
      trainer: localTrainer(),
      examples,
      backend: 'wasm',
    })
    await device.enrol()
    for (let n = 0; n < 2; n++) {
      const answer = await device.checkin()
      if (answer.type !== 'assignment') throw new Error(`not selected: ${answer.type}`)
      await device.work(answer)
      await waitFor(async () =>
        (await running.admin.task(task.id)).committedRounds > n ? true : undefined,
      )
    }
    const rounds = await running.admin.rounds(task.id)
    expect(rounds.map((r) => r.status)).toEqual(['committed', 'committed'])
    expect(rounds[0]!.model).not.toBe(rounds[1]!.model)

    const x = tf.randomUniform([3, 784], 0, 1, 'float32', 7)
    for (const round of rounds) {
      const url = `${running.url}/api/v1/tasks/${task.id}/rounds/${round.round}/model`
      const json = (await (await running.admin.call(new URL(url).pathname)).json()) as {
        userDefinedMetadata: { pollen: { modelHash: string } }
      }
      expect(json.userDefinedMetadata.pollen.modelHash).toBe(round.model)
      // The loaded model computes what the round's committed blob does.
      const loaded = await tfl.loadLayersModel(url, { requestInit: { headers: auth } })
      const blob = await fetch(`${running.url}/api/v1/models/${round.model}`, { headers: auth })
      const reference = buildModel({ preset: 'mnist-2nn' })
      setWeights(reference, decodeContainer(new Uint8Array(await blob.arrayBuffer())).tensors)
      const [a, b] = [loaded.predict(x) as tf.Tensor, reference.predict(x) as tf.Tensor]
      expect(Array.from(await a.data())).toEqual(Array.from(await b.data()))
      tf.dispose([a, b])
      loaded.dispose()
      reference.dispose()
    }
    tf.dispose(x)

    // Another round's weights are not this round's file.
    const other = `/api/v1/tasks/${task.id}/rounds/1/model/${rounds[1]!.model}.bin`
    expect(await errorOf(other)).toMatchObject({ status: 404, field: 'file' })
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })

  it('answers a bad round number, a round with no model and an unknown task naming the field', async () => {
    const task = await running.admin.createTask({
      name: 'no model yet',
      purpose: 'a round that is still open',
      model: { preset: 'mnist-2nn' },
    })
    const base = `/api/v1/tasks/${task.id}/rounds`
    // Round 0 (the initial model) is no round a path names: rounds count from 1.
    for (const bad of ['abc', '-1', '1.5', '0', '1e0', '9'.repeat(12)])
      expect(await errorOf(`${base}/${bad}/model`)).toEqual({
        status: 400,
        code: 'invalid_request',
        field: 'round',
      })
    expect(await errorOf(`${base}/7/model`)).toMatchObject({ status: 404, field: 'round' })
    // Round 1 is open: no committed model yet.
    expect(await errorOf(`${base}/1/model`)).toEqual({
      status: 409,
      code: 'conflict',
      field: 'round',
    })
    expect(await errorOf('/api/v1/tasks/nope/rounds/1/model')).toMatchObject({
      status: 404,
      field: 'id',
    })
    expect((await fetch(`${running.url}${base}/1/model`)).status).toBe(401)
    await running.admin.call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })
  })
})
