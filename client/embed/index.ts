// The embeddable client: an ES module the coordinator serves at /embed/pollen.js, for a web app
// on any origin to contribute the data it already keeps on the user's device. README.md,
// "Embed Pollen in your web app", documents it; examples/plant-journal uses it.
//
//   import { connect } from 'https://coordinator.example/embed/pollen.js'
//   const pollen = await connect({ dataset: 'plants' })
//   await pollen.addExamples([{ features: { moisture: 31, light: 2.5 }, label: 'thirsty' }])
//   const [task] = await pollen.tasks()   // with its consent terms, to show the user
//   await pollen.consent(task.id)          // after the user agreed
//   pollen.start()                         // trains in a Web Worker; pollen.stop() to stop
import { DatasetSpecSchema, type DatasetSpec } from '../../shared/protocol/index.ts'
import { ProtocolError } from '../device/http.ts'
import { createPollen } from './client.ts'
import { EmbedError } from './examples.ts'
import { deviceSession, type DeviceSession } from './session.ts'
import { openEmbedDb } from './store.ts'
import type { ConnectOptions, Pollen } from './types.ts'

export { EmbedError, MAX_BATCH, MAX_STORED } from './examples.ts'
export { EMBED_DB } from './store.ts'
export type { EmbedEvent } from './contribute.ts'
export type { ExampleInput, ImageDataLike } from './examples.ts'
export type { EmbedTask, TaskTerms } from './terms.ts'
export type { ConnectOptions, Counts, Pollen } from './types.ts'
export type { DatasetSpec } from '../../shared/protocol/index.ts'

/** The coordinator that served this module: /embed/pollen.js → its root. */
const servedBy = () => new URL(/* @vite-ignore */ '../', import.meta.url).href

/** The coordinator's base URL, http(s) only. */
function coordinatorUrl(given: unknown): string {
  const url = typeof given === 'string' && URL.canParse(given) ? new URL(given) : null
  if (!url || !['http:', 'https:'].includes(url.protocol))
    throw new EmbedError(
      'invalid_request',
      `must be the coordinator's http(s) URL, got ${String(given).slice(0, 200)}`,
      'coordinator',
    )
  return url.href
}

/** Connects to the coordinator, enrols this browser once (kept in IndexedDB), reads the dataset. */
export async function connect(options: ConnectOptions): Promise<Pollen> {
  if (typeof options?.dataset !== 'string' || options.dataset === '')
    throw new EmbedError('invalid_request', 'name the dataset to contribute to', 'dataset')
  const coordinator = coordinatorUrl(options.coordinator ?? servedBy())
  const db = await openEmbedDb(options.databaseName)
  try {
    const session = await deviceSession({
      coordinator,
      db,
      label: options.label,
      fetch: options.fetch,
    })
    const dataset = await readDataset(session, coordinator, options.dataset)
    return createPollen({ coordinator, db, session, dataset, options })
  } catch (error) {
    db.close()
    throw error
  }
}

/** The dataset's spec as the coordinator declares it, checked (only the fields a spec has). */
async function readDataset(
  session: DeviceSession,
  coordinator: string,
  name: string,
): Promise<DatasetSpec> {
  const body = await session
    .call((h) => h.json<unknown>(`/api/v1/devices/datasets/${encodeURIComponent(name)}`))
    .catch((error: unknown) => {
      if (error instanceof ProtocolError && error.status === 404)
        throw new EmbedError('not_found', `${coordinator} declares no dataset "${name}"`, 'dataset')
      throw error
    })
  const b = (body ?? {}) as Record<string, unknown>
  const parsed = DatasetSpecSchema.safeParse({
    name: b.name,
    description: b.description,
    tags: b.tags,
    features: b.features,
    classes: b.classes,
    deviceLabelling: b.deviceLabelling,
  })
  if (!parsed.success)
    throw new EmbedError(
      'unavailable',
      `the coordinator's dataset spec does not parse: ${parsed.error.message}`,
      'dataset',
    )
  return parsed.data
}
