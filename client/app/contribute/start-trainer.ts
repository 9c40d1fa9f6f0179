import type { Backend } from '../../../shared/protocol/index.ts'
import { loadSpeed, type PollenDatabase, saveSpeed } from '../storage/index.ts'
import { measuredSpeed, SPEED_MODEL, speedProbe } from './speed.ts'
import type { AppTrainer } from './state.ts'

/** A trainer started, with the backend it runs on and its speed there. */
export interface StartedTrainer {
  made: AppTrainer
  backend: Backend
  /** Examples per second on `backend`, reported at check-in (undefined: not known). */
  speed: number | undefined
}

/**
 * Makes the trainer (the training worker loads only now), lets it pick its backend, and learns
 * its speed: measured once per backend it starts on, stored, so it costs nothing after.
 */
export async function startTrainer({
  make,
  db,
  now = Date.now,
  userAgent = typeof navigator === 'undefined' ? '' : navigator.userAgent,
}: {
  make: () => Promise<AppTrainer>
  db: PollenDatabase
  now?: () => number
  userAgent?: string
}): Promise<StartedTrainer> {
  const made = await make()
  const started = (await made.init?.()) ?? { backend: 'cpu' as const }
  const speed = await measuredSpeed({
    probe: speedProbe(started, userAgent),
    load: (b) => loadSpeed(db, b),
    save: (record) => saveSpeed(db, record),
    ...(made.measureSpeed ? { measure: () => made.measureSpeed!(SPEED_MODEL) } : {}),
    now: now(),
  })
  return { made, backend: started.backend, speed }
}
