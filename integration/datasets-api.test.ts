// Datasets over real HTTP (issue 16): declare, search, read, reword and delete them; a task must
// name a declared dataset and fit it; devices read a task's dataset spec and may not count labels
// their dataset does not have. Counts only, never examples.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  PROTOCOL_VERSION,
  type DatasetListing,
  type DatasetView,
  type DeviceTaskView,
  type TaskSpecInput,
} from '../shared/protocol/index.ts'
import { startCoordinator, type Running } from './harness.ts'

const FLOWERS = {
  name: 'flowers',
  description: 'Garden photos, taken by phone',
  tags: ['images', 'Plants'],
  features: { kind: 'image', height: 32, width: 32, channels: 3 },
  classes: ['rose', 'tulip', 'daisy'],
}

const task = (dataset: string, preset: string): TaskSpecInput => ({
  name: `on ${dataset}`,
  purpose: 'Tell flowers apart; only weight updates leave the phone.',
  model: { preset } as TaskSpecInput['model'],
  dataset,
  rounds: { total: 2, clientsPerRound: 1, minReports: 1, deadlineSeconds: 60 },
})

describe('datasets over HTTP', () => {
  let running: Running
  let call: Running['admin']['call']
  const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body) })
  const error = async (r: Response) =>
    ((await r.json()) as { error: { code: string; message: string; issues?: { field: string }[] } })
      .error
  const listing = async (q?: string) => {
    const r = await call(`/api/v1/datasets${q === undefined ? '' : `?q=${encodeURIComponent(q)}`}`)
    expect(r.status).toBe(200)
    return ((await r.json()) as { datasets: DatasetListing[] }).datasets
  }

  beforeAll(async () => {
    running = await startCoordinator()
    call = running.admin.call
  })
  afterAll(() => running.close())

  it('declares the built-in mnist with its held-out set at start', async () => {
    const [mnist] = await listing()
    expect(mnist).toMatchObject({ name: 'mnist', declared: true, tasks: 0 })
    const view = mnist as DatasetView
    expect(view.heldOut?.examples).toBe(2000)
    expect(view.heldOut?.labels.reduce((a, b) => a + b)).toBe(2000)
    expect(view.classes).toHaveLength(10)
  })

  it('declares a dataset once, refuses a bad one by field, and searches name, words and tags', async () => {
    const created = await call('/api/v1/datasets', json('POST', FLOWERS))
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({
      ...FLOWERS,
      deviceLabelling: true,
      heldOut: null,
      examples: 0,
      labels: [0, 0, 0],
      devices: { active: 0, enrolled: 0 },
    })
    const again = await call('/api/v1/datasets', json('POST', { ...FLOWERS, classes: ['a', 'b'] }))
    expect(again.status).toBe(409)
    expect(await error(again)).toMatchObject({ code: 'conflict', issues: [{ field: 'name' }] })
    const bad = await call(
      '/api/v1/datasets',
      json('POST', { ...FLOWERS, name: 'gray', features: { ...FLOWERS.features, channels: 2 } }),
    )
    expect(bad.status).toBe(400)
    expect((await error(bad)).issues?.[0]?.field).toBe('features.channels')
    expect((await listing()).map((d) => d.name)).toEqual(['flowers', 'mnist'])

    expect((await listing('PLANTS')).map((d) => d.name)).toEqual(['flowers'])
    expect((await listing('garden')).map((d) => d.name)).toEqual(['flowers'])
    expect((await listing('Digits')).map((d) => d.name)).toEqual(['mnist'])
    expect(await listing('cats')).toEqual([])
    const long = await call(`/api/v1/datasets?q=${'x'.repeat(201)}`)
    expect(long.status).toBe(400)
    expect((await error(long)).issues?.[0]?.field).toBe('q')
  })

  it('rewords a dataset but never changes what an example is or its classes', async () => {
    const fixed = await call('/api/v1/datasets/flowers', json('PATCH', { classes: ['a', 'b'] }))
    expect(fixed.status).toBe(400)
    const fixedError = await error(fixed)
    expect(fixedError.message).toContain('cannot change once declared')
    expect(fixedError.issues).toMatchObject([{ field: 'classes' }])
    const patched = await call(
      '/api/v1/datasets/flowers',
      json('PATCH', { description: 'Flowers in gardens', deviceLabelling: false }),
    )
    expect(patched.status).toBe(200)
    expect(await patched.json()).toMatchObject({
      description: 'Flowers in gardens',
      deviceLabelling: false,
      classes: FLOWERS.classes,
    })
    const empty = await call('/api/v1/datasets/flowers', json('PATCH', {}))
    expect(empty.status).toBe(400)
    expect((await call('/api/v1/datasets/nope', json('PATCH', { tags: [] }))).status).toBe(404)
    expect((await call('/api/v1/datasets/nope')).status).toBe(404)
  })

  it('takes a task only on a declared dataset, with a model that fits it', async () => {
    const undeclared = await call('/api/v1/tasks', json('POST', task('nope', 'cifar-cnn')))
    expect(undeclared.status).toBe(400)
    const undeclaredError = await error(undeclared)
    expect(undeclaredError.message).toContain('POST /api/v1/datasets')
    expect(undeclaredError.issues).toMatchObject([{ field: 'dataset' }])
    const misfit = await call('/api/v1/tasks', json('POST', task('flowers', 'mnist-2nn')))
    expect(misfit.status).toBe(400)
    const why = await error(misfit)
    expect(why.issues?.[0]?.field).toBe('model')
    expect(why.message).toMatch(/mnist-2nn/)
    expect(why.message).toMatch(/32, 32, 3/)

    const fits = await running.admin.createTask(task('flowers', 'cifar-cnn'))
    expect(fits).toMatchObject({ dataset: 'flowers', classes: FLOWERS.classes, heldOut: null })
    expect((await running.admin.rounds(fits.id))[0]?.accuracyByClass).toBeNull()
    expect(((await listing('flowers'))[0] as DatasetView).tasks).toBe(1)

    // A dataset a task trains on stays until the task goes.
    const refused = await call('/api/v1/datasets/flowers', { method: 'DELETE' })
    expect(refused.status).toBe(409)
    expect((await error(refused)).message).toContain(fits.id)
    expect((await call(`/api/v1/tasks/${fits.id}`, { method: 'DELETE' })).status).toBe(204)
  })

  it('tells devices each task’s dataset spec, and clips or refuses histograms past its classes', async () => {
    const enrolled = await fetch(`${running.url}/api/v1/devices`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
    })
    const auth = { Authorization: `Bearer ${((await enrolled.json()) as { token: string }).token}` }
    const onFlowers = await running.admin.createTask(task('flowers', 'cifar-cnn'))
    const tasks = (await (
      await fetch(`${running.url}/api/v1/devices/tasks`, { headers: auth })
    ).json()) as {
      tasks: DeviceTaskView[]
    }
    expect(tasks.tasks.find((t) => t.id === onFlowers.id)?.datasetSpec).toMatchObject({
      name: 'flowers',
      classes: FLOWERS.classes,
      features: FLOWERS.features,
    })
    const spec = await fetch(`${running.url}/api/v1/devices/datasets/flowers`, { headers: auth })
    expect(await spec.json()).toMatchObject({ name: 'flowers', classes: FLOWERS.classes })
    expect(
      (await fetch(`${running.url}/api/v1/devices/datasets/nope`, { headers: auth })).status,
    ).toBe(404)
    expect((await fetch(`${running.url}/api/v1/devices/datasets/flowers`)).status).toBe(401)

    const checkin = (labels: number[], name = 'flowers') =>
      fetch(`${running.url}/api/v1/devices/checkin`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          protocolVersion: PROTOCOL_VERSION,
          capabilities: { backend: 'wasm' },
          consents: [],
          datasets: [
            { name: 'sensors', examples: 4, labels: [4] },
            { name, examples: labels.reduce((a, b) => a + b), labels },
          ],
        }),
      })
    const refused = await checkin([1, 2, 0, 5])
    expect(refused.status).toBe(400)
    const refusedError = await error(refused)
    expect(refusedError.message).toContain('3 classes')
    expect(refusedError.issues).toMatchObject([{ field: 'datasets.1.labels' }])
    // Trailing zeros past the classes: a fixed-size counter, clipped.
    expect((await checkin([1, 2, 0, 0, 0])).status).toBe(200)
    const [flowers, , sensors] = await listing()
    expect(flowers).toMatchObject({ name: 'flowers', examples: 3, labels: [1, 2, 0] })
    expect(flowers!.devices).toEqual({ active: 1, enrolled: 1 })
    expect(sensors).toEqual({
      name: 'sensors',
      declared: false,
      devices: { active: 1, enrolled: 1 },
      examples: 4,
      labels: [4],
    })
    expect((await listing('sens')).map((d) => d.name)).toEqual(['sensors'])
    await call(`/api/v1/tasks/${onFlowers.id}`, { method: 'DELETE' })
  })

  it('deletes a dataset no task uses', async () => {
    expect((await call('/api/v1/datasets/flowers', { method: 'DELETE' })).status).toBe(204)
    expect((await call('/api/v1/datasets/flowers')).status).toBe(404)
    expect((await call('/api/v1/datasets/flowers', { method: 'DELETE' })).status).toBe(404)
  })
})
