// The phone's training speed, reported at check-in with its other capabilities: measured once
// per backend in the training worker (a short benchmark), kept in IndexedDB, and measured again
// when what it was measured with changes.
import type { Backend, ModelSpecWire } from '../../../shared/protocol/index.ts'
import type { SpeedRecord } from '../storage/index.ts'

/**
 * The model timed: the training core's SPEED_MODEL (shared/training/speed.ts says why synet),
 * named again here because the page never loads the training core.
 */
export const SPEED_MODEL: ModelSpecWire = { preset: 'synet' }

/** A measurement older than this is taken again (browsers and drivers change under it). */
export const SPEED_MAX_AGE_MS = 30 * 24 * 3600 * 1000

/** What a measurement was taken with; one taken with anything else does not stand for it. */
export interface SpeedProbe {
  backend: Backend
  variant: string
  model: string
}

/** The worker's backend, as its init answered, and the browser it runs in. */
export function speedProbe(
  init: { backend: Backend; threads?: number; simd?: boolean },
  userAgent: string,
  model: ModelSpecWire = SPEED_MODEL,
): SpeedProbe {
  const wasm =
    init.backend === 'wasm' ? ` simd=${init.simd ?? false} threads=${init.threads ?? 1}` : ''
  return {
    backend: init.backend,
    variant: `${init.backend}${wasm} ${userAgent}`,
    model: JSON.stringify(model),
  }
}

export interface MeasuredSpeedOptions {
  probe: SpeedProbe
  load: (backend: Backend) => Promise<SpeedRecord | undefined>
  save: (record: SpeedRecord) => Promise<void>
  /** Runs the benchmark; without it (a trainer that cannot) the speed stays unknown. */
  measure?: (() => Promise<{ examplesPerSecond: number }>) | undefined
  now: number
}

/**
 * Examples per second on this backend: the stored measurement while it holds, else a new one
 * (stored). Undefined when it cannot be measured: the device then checks in without a speed,
 * which costs it only a work budget sized to it.
 */
export async function measuredSpeed(options: MeasuredSpeedOptions): Promise<number | undefined> {
  const { probe, now } = options
  const stored = await options.load(probe.backend)
  const usable = (speed: number) => Number.isFinite(speed) && speed > 0
  if (stored && stored.variant === probe.variant && stored.model === probe.model) {
    // A damaged record is measured over: the coordinator refuses a check-in with a bad speed.
    const fresh = now - stored.measuredAt < SPEED_MAX_AGE_MS
    if (fresh && usable(stored.examplesPerSecond)) return stored.examplesPerSecond
  }
  if (!options.measure) return undefined
  let examplesPerSecond: number
  try {
    examplesPerSecond = (await options.measure()).examplesPerSecond
  } catch {
    return undefined
  }
  if (!usable(examplesPerSecond)) return undefined
  await options.save({ ...probe, examplesPerSecond, measuredAt: now })
  return examplesPerSecond
}
