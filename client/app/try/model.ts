// The current model of a task, for "try the model": a pointer from the coordinator
// (GET /api/v1/devices/tasks/<id>/model), then the immutable blob, kept in IndexedDB by hash so
// that trying works offline after one use and downloads nothing while the model is unchanged.
import type { CurrentModelAnswer, ModelSpecWire } from '../../../shared/protocol/index.ts'
import { decodeContainer, type NamedTensor } from '../../../shared/tensors/index.ts'
import { createDeviceHttp, ProtocolError } from '../../device/http.ts'
import { downloadModel, ModelDamagedError } from '../../device/models.ts'
import { type ModelRecord, type PollenDatabase, STORES } from '../storage/index.ts'
import { storeModel } from '../storage/models.ts'

export type TryModelErrorCode = 'offline' | 'not-offered' | 'unauthorised' | 'http' | 'damaged'

/** Why there is no model to try; `message` is written for the phone's owner. */
export class TryModelError extends Error {
  override name = 'TryModelError'
  constructor(
    readonly code: TryModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export interface TryModel {
  taskId: string
  hash: string
  spec: ModelSpecWire
  weights: NamedTensor[]
  /** Where the weights came from: downloaded now, this phone's copy, or its copy while offline. */
  from: 'download' | 'stored' | 'offline'
  /** Committed rounds in it, when the coordinator said (not offline). */
  committedRounds: number | null
  storedAt: number
}

export interface LoadModelOptions {
  db: PollenDatabase
  /** The coordinator's origin. */
  server: string
  taskId: string
  taskName: string
  token: string
  fetch?: typeof globalThis.fetch
  now?: number
}

/** The task's current model: from this phone when it holds that hash, else downloaded. */
export async function loadTryModel({
  db,
  server,
  taskId,
  taskName,
  token,
  fetch = globalThis.fetch,
  now = Date.now(),
}: LoadModelOptions): Promise<TryModel> {
  const http = createDeviceHttp({ server, fetch, token: () => token })
  let pointer: Response
  try {
    pointer = await http.request(`/api/v1/devices/tasks/${encodeURIComponent(taskId)}/model`)
  } catch (cause) {
    return offline(db, taskId, cause)
  }
  if (!pointer.ok) throw refused(pointer)
  const answer = (await pointer.json()) as CurrentModelAnswer
  const { hash, spec, url } = answer.model
  const stored = await db.get(STORES.models, hash)
  if (stored) {
    return use(stored, spec, { from: 'stored', committedRounds: answer.committedRounds })
  }
  let bytes: Uint8Array
  try {
    bytes = await downloadModel(http, { hash, url })
  } catch (error) {
    if (error instanceof ModelDamagedError) {
      throw new TryModelError(
        'damaged',
        'The model arrived damaged (its bytes do not match its hash). Try again.',
        { cause: error },
      )
    }
    if (error instanceof ProtocolError) throw refused(error)
    return offline(db, taskId, error)
  }
  const record: ModelRecord = {
    hash,
    bytes: bytes.buffer as ArrayBuffer,
    taskId,
    storedAt: now,
    spec,
    taskName,
  }
  // Kept for trying (it has a spec): it supersedes the task's older one.
  await storeModel(db, record)
  return use(record, spec, { from: 'download', committedRounds: answer.committedRounds })
}

/** The tasks whose model this phone holds for trying, newest first: what works offline. */
export async function storedTryModels(
  db: PollenDatabase,
): Promise<{ taskId: string; taskName: string; storedAt: number }[]> {
  return (await db.getAll(STORES.models))
    .filter((r) => r.spec)
    .sort((a, b) => b.storedAt - a.storedAt)
    .map((r) => ({ taskId: r.taskId, taskName: r.taskName ?? r.taskId, storedAt: r.storedAt }))
}

async function offline(db: PollenDatabase, taskId: string, cause: unknown): Promise<TryModel> {
  const latest = (await db.getAll(STORES.models))
    .filter((r) => r.taskId === taskId && r.spec)
    .sort((a, b) => b.storedAt - a.storedAt)[0]
  if (!latest?.spec) {
    throw new TryModelError(
      'offline',
      'There is no connection to the coordinator, and this phone has not kept a model of this ' +
        'task yet. Try again when you are online.',
      { cause },
    )
  }
  return use(latest, latest.spec, { from: 'offline', committedRounds: null })
}

function use(
  record: ModelRecord,
  spec: ModelSpecWire,
  rest: Pick<TryModel, 'from' | 'committedRounds'>,
): TryModel {
  let weights: NamedTensor[]
  try {
    weights = decodeContainer(new Uint8Array(record.bytes)).tensors
  } catch (cause) {
    throw new TryModelError('damaged', 'The stored model is damaged. Try again online.', { cause })
  }
  return {
    taskId: record.taskId,
    hash: record.hash,
    spec,
    weights,
    storedAt: record.storedAt,
    ...rest,
  }
}

/** A refusal, from the response or from the `ProtocolError` the download threw. */
function refused(response: Pick<Response, 'status' | 'statusText'>): TryModelError {
  if (response.status === 404)
    return new TryModelError(
      'not-offered',
      'The coordinator no longer has this task: its data scientist removed it, and its model with it.',
    )
  if (response.status === 401)
    return new TryModelError(
      'unauthorised',
      'The coordinator does not know this phone any more. Open the Tasks screen to enrol again.',
    )
  return new TryModelError(
    'http',
    `Could not get the model: the coordinator answered ${response.status}` +
      `${response.statusText ? ` ${response.statusText}` : ''}.`,
  )
}
