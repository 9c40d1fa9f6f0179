import { functionalGraph, sequentialGraph } from './topology-graph.ts'
import { propagate } from './topology-layers.ts'
import { DEFAULT_MODEL_BUDGET, type ModelBudget, type TopologySummary } from './topology-limits.ts'
import { describe, fail } from './topology-util.ts'
import { unwrapTopology } from './topology.ts'

// The check's public face; the graph, the layer rules and the limits sit beside it.
export {
  DEFAULT_MODEL_BUDGET,
  MAX_LAYERS,
  SUPPORTED_ACTIVATIONS,
  SUPPORTED_INITIALIZERS,
  SUPPORTED_LAYERS,
} from './topology-limits.ts'
export type { ModelBudget, TopologySummary } from './topology-limits.ts'
export { TopologyError } from './topology-util.ts'

/**
 * Checks a Keras-format topology (Sequential, or Model/Functional as TF.js writes it) before
 * anything is built: known layers with known options only, a graph without cycles whose every
 * inbound layer exists, one input and one `[batch, classes]` output, shapes propagated layer by
 * layer, and the parameters and activations within `budget`. Throws a TopologyError, and nothing
 * else, for whatever it refuses; its work is linear in the topology's size.
 */
export function checkTopology(
  topology: unknown,
  budget: ModelBudget = DEFAULT_MODEL_BUDGET,
): TopologySummary {
  const top = unwrapTopology(topology)
  if (!top) fail(`expected an object with 'class_name' and 'config', got ${describe(topology)}`)
  const className = top['class_name']
  const graph =
    className === 'Sequential'
      ? sequentialGraph(top['config'])
      : className === 'Model' || className === 'Functional'
        ? functionalGraph(top['config'])
        : fail(
            `the model's class_name must be 'Sequential', 'Model' or 'Functional', got ${describe(className)}`,
          )
  return propagate(graph, budget)
}
