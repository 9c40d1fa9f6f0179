import { Hono } from 'hono'
import { z } from 'zod'
import {
  DatasetPatchSchema,
  DatasetSpecSchema,
  describeIssues,
  MAX_DATASET_QUERY,
} from '../../shared/protocol/index.ts'
import type { Clock } from '../clock/index.ts'
import {
  datasetListing,
  datasetView,
  readHeldOutUpload,
  type Datasets,
  type HeldOutLimits,
} from '../datasets/index.ts'
import { summarizeDatasets } from '../devices/index.ts'
import { invalidRequest, PollenError } from '../errors.ts'
import type { EventBus } from '../events/index.ts'
import type { Scheduler } from '../rounds/index.ts'
import type { Store } from '../store/index.ts'
import { limitBody } from './body.ts'
import { parseJson } from './errors.ts'

const JSON_LIMIT = 256 * 1024

export interface DatasetRouteDeps {
  datasets: Datasets
  scheduler: Pick<Scheduler, 'listTasks'>
  store: Pick<Store, 'listDevices'>
  clock: Clock
  events: EventBus
  heldOutLimits: HeldOutLimits
}

/**
 * The admin API's datasets: declare, search, read, reword, delete; and each one's held-out set.
 * Counts only, never examples: what devices hold is what they declare at check-in.
 */
export function datasetRoutes(deps: DatasetRouteDeps) {
  const { datasets, scheduler, store, clock, events, heldOutLimits } = deps
  const app = new Hono()
  const tasksOn = (name: string) =>
    scheduler
      .listTasks()
      .filter((t) => t.dataset === name)
      .map((t) => t.id)
  // Its tasks' views say whether they have held-out evaluation: tell the dashboard they changed.
  const heldOutChanged = (name: string) => {
    for (const task of scheduler.listTasks())
      if (task.dataset === name) events.publish({ type: 'task.updated', task })
  }
  const summaries = async () => summarizeDatasets(await store.listDevices(), clock.now())
  // On replicas each request reads the dataset as the database has it: one declared, changed or
  // deleted through another replica a moment ago is as it is now.
  const view = async (name: string) => {
    const record = await datasets.fresh(name)
    const summary = (await summaries()).find((s) => s.name === name)
    return datasetView(record, summary, tasksOn(name).length)
  }

  app.post('/datasets', limitBody(JSON_LIMIT, 'dataset bodies'), async (c) => {
    const spec = await parseJson(c, DatasetSpecSchema)
    await datasets.create(spec)
    return c.json(await view(spec.name), 201)
  })

  app.get('/datasets', async (c) => {
    const q = c.req.query('q') ?? ''
    if (q.length > MAX_DATASET_QUERY)
      throw new PollenError('invalid_request', `q is at most ${MAX_DATASET_QUERY} characters`, 'q')
    const listing = datasetListing(
      await datasets.list(),
      await summaries(),
      (n) => tasksOn(n).length,
      q,
    )
    return c.json({ datasets: listing })
  })

  app.get('/datasets/:name', async (c) => c.json(await view(c.req.param('name'))))

  app.patch('/datasets/:name', limitBody(JSON_LIMIT, 'dataset changes'), async (c) => {
    const name = c.req.param('name')
    await datasets.fresh(name) // 404 before a body error for an unknown dataset
    const body = await parseJson(c, z.record(z.string(), z.unknown()))
    // What an example is and its classes cannot change: say so, not just "unrecognized key".
    const fixed = ['name', 'features', 'classes'].filter((k) => k in body)
    if (fixed.length > 0)
      throw new PollenError(
        'invalid_request',
        `${fixed.join(', ')} cannot change once declared (phones hold examples and tasks train models by them): declare a new dataset instead`,
        fixed[0],
      )
    const patch = DatasetPatchSchema.safeParse(body)
    if (!patch.success) throw invalidRequest(describeIssues(patch.error))
    await datasets.patch(name, patch.data)
    return c.json(await view(name))
  })

  app.delete('/datasets/:name', async (c) => {
    const name = c.req.param('name')
    await datasets.remove(name, () => tasksOn(name))
    return c.body(null, 204)
  })

  app.put(
    '/datasets/:name/held-out',
    limitBody(heldOutLimits.maxBodyBytes, 'held-out uploads'),
    async (c) => {
      const name = c.req.param('name')
      const { spec } = await datasets.fresh(name)
      const { examples, notes } = await readHeldOutUpload(c, spec, heldOutLimits)
      await datasets.setHeldOut(name, examples)
      heldOutChanged(name)
      return c.json({ ...(await view(name)), notes })
    },
  )

  app.delete('/datasets/:name/held-out', async (c) => {
    await datasets.clearHeldOut(c.req.param('name'))
    heldOutChanged(c.req.param('name'))
    return c.body(null, 204)
  })

  return app
}
