import { parentPort, workerData } from 'node:worker_threads'
import {
  buildModel,
  getWeights,
  seedInitializers,
  setWeights,
  toLayersTopology,
  updateSpec,
  weightSpec,
} from '../../shared/models/index.ts'
import { decodeContainer } from '../../shared/tensors/index.ts'
import { useBackend, type BackendName } from '../../shared/tf/index.ts'
import type { BuildReply, BuildRequest } from './builder.ts'

/**
 * Builds one task's fresh model at a time, in its own thread and its own TF.js backend, so that a
 * build that runs long can be stopped and one that fails cannot leave the coordinator's backend
 * broken (a WASM abort poisons its module for every later call).
 */
const port = parentPort!
await useBackend((workerData as { backend: BackendName }).backend)
port.on('message', (request: BuildRequest) => port.postMessage(...reply(request)))
port.postMessage({ ready: true })

function reply(request: BuildRequest): [BuildReply, ArrayBuffer[]] {
  let stage: 'model.topology' | 'model.initialWeights' = 'model.topology'
  try {
    // buildSeededModel's two steps, keeping the unseeded topology: the one the registry exports.
    const unseeded = buildModel(request.spec)
    let topology: object
    try {
      topology = toLayersTopology(unseeded)
    } finally {
      unseeded.dispose()
    }
    const model = buildModel({
      preset: 'custom',
      topology: seedInitializers(topology, request.seed),
    })
    try {
      if (request.initialWeights !== undefined) {
        stage = 'model.initialWeights'
        const bytes = Uint8Array.from(atob(request.initialWeights), (c) => c.charCodeAt(0))
        // Set into this task's own fresh model: checks every name and shape.
        setWeights(model, decodeContainer(bytes).tensors)
      }
      const weights = getWeights(model)
      const built = {
        ok: true as const,
        weights,
        weightSpec: weightSpec(model),
        parameters: model.countParams(),
        updateSpec: updateSpec(model),
        topology,
      }
      return [built, weights.map((w) => w.data.buffer as ArrayBuffer)]
    } finally {
      model.dispose()
    }
  } catch (error) {
    return [
      { ok: false, field: stage, message: error instanceof Error ? error.message : String(error) },
      [],
    ]
  }
}
