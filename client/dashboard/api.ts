// The admin REST API as the dashboard calls it: bearer token, JSON, and errors that keep the
// server's code and the fields it named.
import type {
  ApiErrorBody,
  DatasetListing,
  RoundDeviceView,
  RoundView,
  TaskPatch,
  TaskSpecInput,
  TaskView,
} from '../../shared/protocol/index.ts'

export type DatasetView = DatasetListing

/** A refused request: the HTTP status, the server's code and message, the fields it named. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { field: string; message: string }[] = [],
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** What to tell a person: the fields and what was wrong with each, or the message. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'The coordinator refused the admin token.'
    if (error.issues.length > 0)
      return error.issues.map((i) => `${i.field}: ${i.message}`).join('; ')
    return error.message
  }
  if (error instanceof TypeError) return 'The coordinator cannot be reached.'
  return error instanceof Error ? error.message : String(error)
}

async function refusal(response: Response): Promise<ApiError> {
  const text = await response.text()
  try {
    const { error } = JSON.parse(text) as ApiErrorBody
    return new ApiError(response.status, error.code, error.message, error.issues ?? [])
  } catch {
    return new ApiError(response.status, 'http_error', `${response.status} ${text.slice(0, 200)}`)
  }
}

export type Api = ReturnType<typeof createApi>

export function createApi({
  token,
  base = '',
  fetch: fetchFn = globalThis.fetch.bind(globalThis),
}: {
  token: string
  base?: string
  fetch?: typeof fetch
}) {
  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    const response = await fetchFn(`${base}/api/v1${path}`, {
      method,
      cache: 'no-store',
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (!response.ok) throw await refusal(response)
    return response
  }
  const json = async <T>(method: string, path: string, body?: unknown) =>
    (await (await call(method, path, body)).json()) as T
  const task = (id: string) => `/tasks/${encodeURIComponent(id)}`

  return {
    tasks: async () => (await json<{ tasks: TaskView[] }>('GET', '/tasks')).tasks,
    rounds: async (id: string) =>
      (await json<{ rounds: RoundView[] }>('GET', `${task(id)}/rounds`)).rounds,
    /** The round's devices, or null where the coordinator has no such endpoint (404). */
    roundDevices: async (id: string, round: number) => {
      try {
        return (
          await json<{ devices: RoundDeviceView[] }>('GET', `${task(id)}/rounds/${round}/devices`)
        ).devices
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null
        throw error
      }
    },
    datasets: async () => (await json<{ datasets: DatasetView[] }>('GET', '/datasets')).datasets,
    /** The URL phones on the network should open, as the coordinator printed it at start. */
    join: () => json<{ phoneUrl: string | null; urls: string[] }>('GET', '/join'),
    createTask: (spec: TaskSpecInput) => json<TaskView>('POST', '/tasks', spec),
    patchTask: (id: string, patch: TaskPatch) => json<TaskView>('PATCH', task(id), patch),
    deleteTask: async (id: string) => {
      await call('DELETE', task(id))
    },
    /** A model.json alone (its topology, without fetching the weights). */
    modelJson: (id: string) => json<ModelJson>('GET', `${task(id)}/model`),
    /**
     * A model in TF.js Layers format, model.json and its weights file: the current global model,
     * or the one `round` committed.
     */
    model: async (id: string, round: number | null = null) => {
      const base = round === null ? task(id) : `${task(id)}/rounds/${round}`
      const modelJson = await json<ModelJson>('GET', `${base}/model`)
      const path = modelJson.weightsManifest[0]?.paths[0]
      if (!path) throw new Error('the model has no weights file')
      const weights = await (await call('GET', `${base}/${path}`)).arrayBuffer()
      return { modelJson, weights }
    },
  }
}

export interface ModelJson {
  modelTopology?: Record<string, unknown>
  weightsManifest: { paths: string[]; weights: unknown[] }[]
  userDefinedMetadata?: { pollen?: { modelHash?: string } }
  [key: string]: unknown
}
