// The examples the simulated devices share out: the built-in MNIST file, or a declared dataset's
// files read for the spec the coordinator holds (its shape and classes decide how they are read).
import { loadMnist } from '../../data/mnist-file.ts'
import { readDatasetFiles } from '../../data/dataset-files.ts'
import type { Examples } from '../../shared/data/index.ts'
import {
  type DatasetSpec,
  DatasetSpecSchema,
  MNIST_DATASET,
} from '../../shared/protocol/datasets.ts'
import { PROTOCOL_VERSION } from '../../shared/protocol/index.ts'
import { createDeviceHttp, ProtocolError } from '../device/index.ts'

/** What --from may read into memory: all files together, expanded, and examples. */
export const FROM_LIMITS = { maxExpandedBytes: 2 ** 30, maxExamples: 2_000_000 }

export interface SimulatorData {
  spec: DatasetSpec
  examples: Examples
  /** The device enrolled to ask for the spec: the simulation's first device goes on with it. */
  enrolment: { deviceId: string; token: string } | null
}

/** The spec's fields out of a body that may carry more (counts, dates) than a spec. */
function specOf(name: string, body: unknown): DatasetSpec {
  const raw = (body ?? {}) as Record<string, unknown>
  const spec = (
    typeof raw.dataset === 'object' && raw.dataset !== null ? raw.dataset : raw
  ) as Record<string, unknown>
  const { description, tags, features, classes, deviceLabelling } = spec
  const parsed = DatasetSpecSchema.safeParse({
    name: spec.name,
    description,
    tags,
    features,
    classes,
    deviceLabelling,
  })
  if (!parsed.success)
    throw new Error(
      `the coordinator's spec of dataset '${name}' does not parse: ${parsed.error.issues[0]?.message}`,
    )
  if (parsed.data.name !== name)
    throw new Error(
      `asked the coordinator for dataset '${name}', it answered '${parsed.data.name}'`,
    )
  return parsed.data
}

/**
 * Enrols one device and asks the coordinator for the dataset's spec with its token (the
 * device-facing GET /api/v1/devices/datasets/:name): what phones are told, so the simulation
 * reads the files as a phone would hold them.
 */
async function fetchSpec(server: string, name: string) {
  const auth: { token?: string } = {}
  const http = createDeviceHttp({ server, token: () => auth.token, attempts: 3 })
  const enrolled = await http.post<{ deviceId: string; token: string }>('/api/v1/devices', {
    protocolVersion: PROTOCOL_VERSION,
    label: 'sim-0',
  })
  auth.token = enrolled.token
  try {
    const body = await http.json<unknown>(`/api/v1/devices/datasets/${encodeURIComponent(name)}`)
    return { spec: specOf(name, body), enrolment: enrolled }
  } catch (error) {
    if (error instanceof ProtocolError && error.status === 404)
      throw new Error(
        `--dataset ${name}: the coordinator at ${server} has no such dataset (declare it first: POST /api/v1/datasets)`,
      )
    throw error
  }
}

export async function simulatorData(options: {
  server: string
  dataset: string
  from: readonly string[]
}): Promise<SimulatorData> {
  if (options.from.length === 0) {
    if (options.dataset !== 'mnist') throw new Error(`--dataset ${options.dataset} needs --from`)
    return { spec: MNIST_DATASET, examples: (await loadMnist()).train, enrolment: null }
  }
  const { spec, enrolment } = await fetchSpec(options.server, options.dataset)
  const examples = await readDatasetFiles(options.from, spec, FROM_LIMITS)
  return { spec, examples, enrolment }
}
