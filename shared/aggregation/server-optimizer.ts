import type { AggregationSettings, ServerOptimizer } from '../protocol/index.ts'
import { tensorSize, type NamedTensor } from '../tensors/index.ts'
import { allFinite } from './finite.ts'
import type { WeightSpecEntry } from './running-sum.ts'

/**
 * Server optimizers after Reddi et al. 2021 ("Adaptive Federated Optimization", Algorithm 2),
 * without bias correction. Δ is the round's aggregate delta (the mean of wᵢ − w: a negative
 * pseudo-gradient), η the server learning rate:
 *
 *   FedAvg   w ← w + ηΔ
 *   FedAvgM  m ← βm + Δ;                                 w ← w + ηm
 *   FedAdam  m ← β₁m + (1−β₁)Δ;  v ← β₂v + (1−β₂)Δ²;            w ← w + ηm/(√v + τ)
 *   FedYogi  m ← β₁m + (1−β₁)Δ;  v ← v − (1−β₂)Δ²·sign(v − Δ²);  w ← w + ηm/(√v + τ)
 *
 * Pure: each step returns new weights and a new state and changes neither argument, so a step
 * that throws leaves the caller's state as it was.
 *
 * The state is float32 tensors named `m:<weight>` and `v:<weight>` (see stateName): the shape
 * models travel and are stored in, so it persists through the tensor container bit for bit and a
 * restored coordinator steps exactly as one that never stopped. float32 is enough here, unlike the
 * float64 sums of the means: m and v are each one short recurrence per round, each value rounded
 * once when stored, not a sum of thousands of updates; the arithmetic itself runs in float64.
 * Memory: one copy of the model per moment (FedAvgM one, FedAdam and FedYogi two).
 */
export type ServerHyperparameters = Pick<
  AggregationSettings,
  'serverLearningRate' | 'momentum' | 'beta1' | 'beta2' | 'tau'
>

export type StateSlot = 'm' | 'v'

/** The moments each optimizer keeps, one tensor per weight each. */
export const STATE_SLOTS: Readonly<Record<ServerOptimizer, readonly StateSlot[]>> = {
  fedavg: [],
  fedavgm: ['m'],
  fedadam: ['m', 'v'],
  fedyogi: ['m', 'v'],
}

/** The name of a weight's moment in the state: `m:dense/kernel`. */
export const stateName = (slot: StateSlot, weight: string): string => `${slot}:${weight}`

export interface ServerStepInput {
  /** The global weights w. */
  weights: readonly NamedTensor[]
  /** The aggregate delta Δ, matched to the weights by name. */
  delta: readonly NamedTensor[]
  /** The moments, named by stateName; [] is the initial state: m₀ = 0, v₀ = τ². */
  state: readonly NamedTensor[]
}

export interface ServerStepResult {
  weights: NamedTensor[]
  /** Every moment of every weight, slot by slot in the weights' order. */
  state: NamedTensor[]
}

export type ServerStep = (
  input: ServerStepInput,
  settings: ServerHyperparameters,
) => ServerStepResult

interface Moments {
  m: Float32Array
  v: Float32Array
}

/** Updates the copies w, m and v in place for one tensor; a slot the optimizer lacks is empty. */
type Kernel = (
  w: Float32Array,
  d: Float32Array,
  moments: Moments,
  settings: ServerHyperparameters,
) => void

const NONE = new Float32Array(0)

/**
 * m₀ = 0 and v₀ = τ²: Reddi et al. start v at τ² (their analysis needs v₋₁ ≥ τ²), so the first
 * adaptive step divides by √v + τ ≥ 2τ, not by τ alone.
 */
function initialMoments(slots: readonly StateSlot[], size: number, tau: number): Moments {
  return {
    m: slots.includes('m') ? new Float32Array(size) : NONE,
    v: slots.includes('v') ? new Float32Array(size).fill(tau * tau) : NONE,
  }
}

/** Copies of each weight's moments from `state`, after checking it is whole and sound. */
function readMoments(
  optimizer: ServerOptimizer,
  spec: readonly WeightSpecEntry[],
  state: readonly NamedTensor[],
  tau: number,
): Moments[] {
  const slots = STATE_SLOTS[optimizer]
  if (state.length === 0) return spec.map((w) => initialMoments(slots, tensorSize(w.shape), tau))
  if (state.length !== slots.length * spec.length)
    throw new RangeError(
      `${optimizer} keeps ${slots.length * spec.length} state tensors, got ${state.length}`,
    )
  if (!allFinite(state)) throw new RangeError('the optimizer state holds NaN or Infinity')
  const byName = new Map(state.map((t) => [t.name, t.data]))
  const read = (slot: StateSlot, w: WeightSpecEntry) => {
    if (!slots.includes(slot)) return NONE
    const name = stateName(slot, w.name)
    const data = byName.get(name)
    const size = tensorSize(w.shape)
    if (!data) throw new RangeError(`the optimizer state lacks ${name}`)
    if (data.length !== size)
      throw new RangeError(`state ${name} has ${data.length} values, the weight ${size}`)
    if (slot === 'v' && data.some((x) => x < 0))
      throw new RangeError(`state ${name} is negative somewhere: a second moment cannot be`)
    return Float32Array.from(data)
  }
  return spec.map((w) => ({ m: read('m', w), v: read('v', w) }))
}

/**
 * Throws a RangeError unless `state` is [] or every moment `optimizer` keeps for the model
 * `spec`, finite, with no negative v: what a restored state must pass before it is used.
 */
export function checkServerState(
  optimizer: ServerOptimizer,
  spec: readonly WeightSpecEntry[],
  state: readonly NamedTensor[],
): void {
  if (state.length > 0) readMoments(optimizer, spec, state, 0)
}

function stepWith(optimizer: ServerOptimizer, kernel: Kernel): ServerStep {
  const slots = STATE_SLOTS[optimizer]
  return ({ weights, delta, state }, settings) => {
    if (delta.length !== weights.length)
      throw new RangeError(`expected a delta of ${weights.length} tensors, got ${delta.length}`)
    const byName = new Map(delta.map((d) => [d.name, d.data]))
    const deltas = weights.map((w) => {
      const d = byName.get(w.name)
      if (!d || d.length !== w.data.length)
        throw new RangeError(`the delta does not match weight ${w.name}`)
      return d
    })
    if (!allFinite(delta)) throw new RangeError('the delta holds NaN or Infinity')
    const moments = readMoments(optimizer, weights, state, settings.tau)
    const next = weights.map((w, i) => {
      const data = Float32Array.from(w.data)
      kernel(data, deltas[i]!, moments[i]!, settings)
      return { ...w, shape: [...w.shape], data }
    })
    const nextState = slots.flatMap((slot) =>
      weights.map((w, i) => ({
        name: stateName(slot, w.name),
        shape: [...w.shape],
        dtype: 'float32' as const,
        data: moments[i]![slot],
      })),
    )
    return { weights: next, state: nextState }
  }
}

/** FedAvg: w ← w + ηΔ; no state. */
export const fedAvgStep: ServerStep = stepWith('fedavg', (w, d, _, { serverLearningRate: lr }) => {
  for (let k = 0; k < w.length; k++) w[k] = w[k]! + lr * d[k]!
})

/** FedAvgM: m ← βm + Δ; w ← w + ηm. */
export const fedAvgMStep: ServerStep = stepWith('fedavgm', (w, d, { m }, settings) => {
  const { serverLearningRate: lr, momentum: beta } = settings
  for (let k = 0; k < w.length; k++) {
    const mk = beta * m[k]! + d[k]!
    m[k] = mk
    w[k] = w[k]! + lr * mk
  }
})

/** FedAdam's and FedYogi's step, which differ only in how v takes in Δ². */
const adaptive =
  (secondMoment: (v: number, d2: number, beta2: number) => number): Kernel =>
  (w, d, { m, v }, { serverLearningRate: lr, beta1, beta2, tau }) => {
    for (let k = 0; k < w.length; k++) {
      const dk = d[k]!
      const mk = beta1 * m[k]! + (1 - beta1) * dk
      const vk = secondMoment(v[k]!, dk * dk, beta2)
      m[k] = mk
      v[k] = vk
      w[k] = w[k]! + (lr * mk) / (Math.sqrt(vk) + tau)
    }
  }

/** FedAdam: v ← β₂v + (1−β₂)Δ². */
export const fedAdamStep: ServerStep = stepWith(
  'fedadam',
  adaptive((v, d2, beta2) => beta2 * v + (1 - beta2) * d2),
)

/** FedYogi: v ← v − (1−β₂)Δ²·sign(v − Δ²): v moves towards Δ² by at most (1−β₂)Δ². */
export const fedYogiStep: ServerStep = stepWith(
  'fedyogi',
  adaptive((v, d2, beta2) => v - (1 - beta2) * d2 * Math.sign(v - d2)),
)

export const SERVER_STEPS: Readonly<Record<ServerOptimizer, ServerStep>> = {
  fedavg: fedAvgStep,
  fedavgm: fedAvgMStep,
  fedadam: fedAdamStep,
  fedyogi: fedYogiStep,
}

/** One step of the optimizer the settings name. */
export function serverStep(
  settings: ServerHyperparameters & { optimizer: ServerOptimizer },
  input: ServerStepInput,
): ServerStepResult {
  return SERVER_STEPS[settings.optimizer](input, settings)
}
