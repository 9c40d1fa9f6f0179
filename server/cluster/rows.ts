import type { RoundSettings, TrainSettings } from '../../shared/protocol/index.ts'
import type { ClaimBound } from '../rounds/claims.ts'
import type { RoundPhase } from '../rounds/live.ts'
import * as store from '../store/rows.ts'

// The store's rows, with the columns the cluster adds (migrations 010, 013).

export type RoundRow = store.RoundRow & {
  phase: RoundPhase
  settings: RoundSettings | null
  train: TrainSettings | null
}
export const toRound = (r: RoundRow) => ({
  ...store.toRound(r),
  phase: r.phase,
  // Null where the round was stored before (013), or in embedded mode.
  frozen: r.settings && r.train ? { settings: r.settings, train: r.train } : null,
})

export type AssignmentRow = store.AssignmentRow & { claim: ClaimBound | null }
export const toAssignment = (r: AssignmentRow) => ({ ...store.toAssignment(r), claim: r.claim })
