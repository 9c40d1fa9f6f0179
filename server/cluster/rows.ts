import type { ClaimBound } from '../rounds/claims.ts'
import type { RoundPhase } from '../rounds/live.ts'
import * as store from '../store/rows.ts'

// The store's rows, with the columns the cluster adds (migration 010).

export type RoundRow = store.RoundRow & { phase: RoundPhase }
export const toRound = (r: RoundRow) => ({ ...store.toRound(r), phase: r.phase })

export type AssignmentRow = store.AssignmentRow & { claim: ClaimBound | null }
export const toAssignment = (r: AssignmentRow) => ({ ...store.toAssignment(r), claim: r.claim })
