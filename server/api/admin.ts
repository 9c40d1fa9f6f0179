import { Hono, type Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { TaskPatchSchema, TaskSpecSchema } from '../../shared/protocol/index.ts'
import { SHA256_HEX } from '../../shared/tensors/index.ts'
import { PollenError } from '../errors.ts'
import { fitTaskToDataset, type Datasets } from '../datasets/index.ts'
import type { EventBus, StampedEvent } from '../events/index.ts'
import { ModelError, type ModelRegistry } from '../models/index.ts'
import type { Scheduler } from '../rounds/scheduler.ts'
import { limitBody } from './body.ts'
import { parseJson } from './errors.ts'
import { canonicalInteger, roundParam } from './params.ts'

/**
 * A task: its settings and, for a custom model, the topology and the initial weights as base64
 * of a float32 container (4/3 × 4 bytes a parameter): 32 MiB holds a model of about 6 million
 * parameters with its weights, five times the largest preset (mnist-cnn, 1.7 M).
 */
export const TASK_BODY_LIMIT = 32 * 1024 * 1024
const JSON_LIMIT = 256 * 1024

export interface AdminDeps {
  scheduler: Scheduler
  /** A new task must name a declared dataset (as the store has it now), and its model fit it. */
  datasets: Pick<Datasets, 'current'>
  models: ModelRegistry
  events: EventBus
  /** Milliseconds between SSE keep-alive comments. */
  keepAliveMs?: number
}

/** The data scientist's REST API: tasks, rounds, models and the event stream (datasets.ts: datasets). */
export function adminRoutes({
  scheduler,
  datasets,
  models,
  events,
  keepAliveMs = 15_000,
}: AdminDeps) {
  const app = new Hono()
  app.post('/tasks', limitBody(TASK_BODY_LIMIT, 'task bodies'), async (c) => {
    const asked = await parseJson(c, TaskSpecSchema)
    const spec = fitTaskToDataset(asked, (await datasets.current(asked.dataset))?.spec)
    try {
      return c.json(await scheduler.createTask(spec), 201)
    } catch (error) {
      if (error instanceof ModelError)
        throw new PollenError('invalid_model', error.message, error.field)
      throw error
    }
  })
  app.get('/tasks', (c) => c.json({ tasks: scheduler.listTasks() }))
  app.get('/tasks/:id', (c) => c.json(scheduler.getTask(c.req.param('id'))))
  app.patch('/tasks/:id', limitBody(JSON_LIMIT, 'task changes'), async (c) => {
    const id = c.req.param('id')
    scheduler.getTask(id) // 404 before a body error for an unknown task
    return c.json(await scheduler.patchTask(id, await parseJson(c, TaskPatchSchema)))
  })
  app.delete('/tasks/:id', async (c) => {
    await scheduler.deleteTask(c.req.param('id'))
    return c.body(null, 204)
  })
  app.get('/tasks/:id/rounds', async (c) =>
    c.json({ rounds: await scheduler.listRounds(c.req.param('id')) }),
  )
  app.get('/tasks/:id/rounds/:round/devices', async (c) =>
    c.json({
      devices: await scheduler.roundDevices(c.req.param('id'), roundParam(c)),
    }),
  )

  // TF.js Layers format: model.json here; its weights manifest points at model/<hash>.bin beside it.
  app.get('/tasks/:id/model', (c) => {
    c.header('Cache-Control', 'no-store')
    return c.json(layersModelJson(models, scheduler.currentModel(c.req.param('id'))))
  })
  app.get('/tasks/:id/model/:file', async (c) => {
    scheduler.getTask(c.req.param('id'))
    return weightsFile(c, models, c.req.param('file'))
  })
  // An earlier round's model, the same way: …/rounds/<n>/model and …/rounds/<n>/model/<hash>.bin.
  app.get('/tasks/:id/rounds/:round/model', async (c) => {
    const model = await scheduler.roundModel(c.req.param('id'), roundParam(c))
    // A committed round's model never changes, but the task (and so the round) may be deleted.
    c.header('Cache-Control', 'private, no-cache')
    return c.json(layersModelJson(models, model))
  })
  app.get('/tasks/:id/rounds/:round/model/:file', async (c) => {
    const { hash } = await scheduler.roundModel(c.req.param('id'), roundParam(c))
    if (c.req.param('file') !== `${hash}.bin`)
      throw new PollenError(
        'not_found',
        `round ${c.req.param('round')}'s weights are ${hash}.bin`,
        'file',
      )
    return weightsFile(c, models, c.req.param('file'))
  })

  app.get('/events', (c) => {
    // Where a reconnecting stream left off: parsed before the stream starts, so a bad one is a 400.
    const header = c.req.header('last-event-id')
    const query = c.req.query('lastEventId')
    const lastId =
      header !== undefined
        ? canonicalInteger(header, 'last-event-id', 0)
        : query !== undefined
          ? canonicalInteger(query, 'lastEventId', 0)
          : undefined
    return streamSSE(c, async (stream) => {
      // One write chain, filled synchronously: missed events, then a snapshot, then live events,
      // in order and with no gap between the backlog and the subscription.
      let chain = Promise.resolve()
      const write = (message: { id?: string; event: string; data: string }) =>
        (chain = chain.then(() => stream.writeSSE(message)).catch(() => unsubscribe()))
      const send = ({ id, event }: StampedEvent) =>
        write({ id: String(id), event: event.type, data: JSON.stringify(event) })
      if (lastId !== undefined) for (const e of events.since(lastId)) void send(e)
      void write({ event: 'ready', data: JSON.stringify({ tasks: scheduler.listTasks() }) })
      const unsubscribe = events.subscribe((e) => void send(e), lastId)
      stream.onAbort(unsubscribe)
      while (!stream.aborted) {
        await stream.sleep(keepAliveMs)
        if (!stream.aborted) await stream.write(': keep-alive\n\n').catch(() => undefined)
      }
      unsubscribe()
    })
  })

  return app
}

/** A model as TF.js Layers' model.json: its weights manifest names model/<hash>.bin beside it. */
function layersModelJson(
  models: ModelRegistry,
  { spec, hash, info }: ReturnType<Scheduler['currentModel']>,
) {
  return {
    format: 'layers-model',
    generatedBy: 'Pollen',
    convertedBy: null,
    modelTopology: models.topology(spec),
    weightsManifest: [
      {
        paths: [`model/${hash}.bin`],
        weights: info.weightSpec.map(({ name, shape }) => ({ name, shape, dtype: 'float32' })),
      },
    ],
    userDefinedMetadata: { pollen: { modelHash: hash } },
  }
}

/** A model's weights, concatenated float32 in the manifest's order; immutable by its hash. */
async function weightsFile(c: Context, models: ModelRegistry, file: string) {
  const hash = file.replace(/\.bin$/, '')
  const bytes = SHA256_HEX.test(hash)
    ? await models.weights(hash).catch(() => undefined)
    : undefined
  if (!bytes) throw new PollenError('not_found', `no weights ${hash.slice(0, 80)}`)
  const payload = new Uint8Array(bytes.reduce((n, t) => n + t.data.byteLength, 0))
  let offset = 0
  for (const t of bytes) {
    payload.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), offset)
    offset += t.data.byteLength
  }
  c.header('Content-Type', 'application/octet-stream')
  c.header('Cache-Control', 'private, max-age=31536000, immutable')
  return c.body(payload)
}
