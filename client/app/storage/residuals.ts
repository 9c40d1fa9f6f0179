// The phone's top-k residuals (error feedback) in IndexedDB: one per task, so a closed page or a
// round skipped does not lose what the last top-k upload kept back.
import type { ResidualStore } from '../../device/residuals.ts'
import { type PollenDatabase, STORES } from './schema.ts'

export function idbResiduals(db: PollenDatabase, now: () => number = Date.now): ResidualStore {
  return {
    async get(taskId) {
      const record = await db.get(STORES.residuals, taskId)
      return record && { round: record.round, tensors: record.tensors }
    },
    async put(taskId, { round, tensors }) {
      await db.put(STORES.residuals, { taskId, round, tensors, savedAt: now() })
    },
  }
}
