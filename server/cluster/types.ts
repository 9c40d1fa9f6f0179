import type pg from 'pg'
import type { Backend, RoundSettings, TrainSettings } from '../../shared/protocol/index.ts'
import type { ClaimBound } from '../rounds/claims.ts'
import type { RoundPhase } from '../rounds/live.ts'
import type { AssignmentKey } from '../rounds/submission.ts'
import type { SecureLog } from './secure-log.ts'
import type { AssignmentRecord, AssignmentState, RoundRecord, Store } from '../store/index.ts'

export type SelectOutcome =
  | { type: 'selected'; selected: number; firstAssignedAt: number; deadlineAt: number | null }
  /** The device has an assignment in this round already. */
  | { type: 'already'; state: AssignmentState }
  /** `selected` reached the cap. */
  | { type: 'full' }
  /** The round is closing or closed, or there is no such round. */
  | { type: 'not-accepting' }

export type AcceptOutcome =
  | { type: 'accepted'; reported: number; examples: number }
  | { type: 'duplicate'; state: AssignmentState }
  /** No assignment. */
  | { type: 'unknown' }
  /** The round stopped accepting: the assignment was marked late and counted. */
  | { type: 'late' }

export interface PartialSum {
  taskId: string
  round: number
  replicaId: string
  /** The devices whose updates it sums, sorted. */
  devices: string[]
  reports: number
  examples: number
  weight: number
  sum: Float64Array
  /** What else the aggregation adds (clipping counts, say), as it keeps it. */
  extra: Record<string, unknown>
  writtenAt: number
}

/** A spooled update's metadata, without its bytes. */
export interface SpoolMeta {
  deviceId: string
  replicaId: string
  examples: number
  steps: number
  loss: number | null
  staleness: number | null
  partial: boolean
  acceptedAt: number
}

/** A round's counts from its assignments: exact, whatever the live counters of its row say. */
export interface RoundCounts {
  selected: number
  reported: number
  late: number
  rejected: number
  examples: number
  /** The accepted and the rejected updates' bytes. */
  bytesUp: number
  /** bytesUp by the codec of each upload (`uploadCodec`), from the assignments too. */
  bytesUpByCodec: Record<string, number>
}

export interface SpoolRow extends SpoolMeta {
  bytes: Uint8Array
}

type ClosePatch = Parameters<Store['closeRound']>[0]

/** What a round runs by, fixed as its owner opens it: its round and its training settings. */
export interface FrozenSettings {
  settings: RoundSettings
  train: TrainSettings
}

export interface SelectInput {
  taskId: string
  round: number
  deviceId: string
  cap: number
  now: number
  deadlineMs: number | null
  claim: ClaimBound
  backend: Backend | null
  examplesPerSecond: number | null
  replicaId?: string
}

export interface AcceptInput {
  key: AssignmentKey
  replicaId: string
  now: number
  examples: number
  steps: number
  loss: number | null
  staleness: number | null
  partial: boolean
  bytes: Uint8Array
  /**
   * Runs in the accepting transaction, after the spool row is written (a secure round's collect
   * goes into its log there): if it throws, nothing is accepted.
   */
  within?: (c: pg.PoolClient) => Promise<void>
}

export interface Ledger {
  /**
   * One statement: cap check, selected += 1, phase open→selecting, first_assigned_at and
   * deadline_at (now + deadlineMs, once; null deadlineMs leaves it null), the assignment row
   * with its claim. A second check-in of the same device (any replica) gets 'already'.
   */
  select(i: SelectInput): Promise<SelectOutcome>
  /** The assignment with its claim (for checking an upload before its body is read). */
  assignment(
    key: AssignmentKey,
  ): Promise<(AssignmentRecord & { claim: ClaimBound | null }) | undefined>
  /**
   * One transaction: assignment assigned→reported (guarded), the spool row with the update's
   * bytes, under the round's phase (open|selecting; else late). Resolved = committed = durable:
   * only then may the caller answer `accepted`. The round's reported/examples/bytes_up then
   * grow in a second, asynchronous transaction: live figures, which counts() makes exact.
   */
  accept(i: AcceptInput): Promise<AcceptOutcome>
  /** assigned→rejected (guarded), rejected += 1, bytes_up += bytesUp (under `codec`). */
  reject(i: { key: AssignmentKey; now: number; bytesUp: number; codec?: string }): Promise<boolean>
  /** assigned→late (guarded), late += 1 (what Store.markLate does, for any phase). */
  late(i: { key: AssignmentKey; now: number }): Promise<boolean>
  /** Of an assigned device: downloaded_at set once, round bytes_down += bytes (by encoding). */
  downloaded(i: {
    key: AssignmentKey
    now: number
    bytes: number
    encoding: string
  }): Promise<boolean>
  /** The round's counts from its assignments, exact (the owner closes the round with them). */
  counts(taskId: string, round: number): Promise<RoundCounts>
  /**
   * The round row as the store reads it, plus its phase and the settings it was opened with
   * (null for a round stored before migration 013: it runs by the task's spec).
   */
  round(
    taskId: string,
    round: number,
  ): Promise<(RoundRecord & { phase: RoundPhase; frozen: FrozenSettings | null }) | undefined>
  /**
   * Owner, fenced by epoch: phase open|selecting → closing, and resolved once the uploads in
   * flight are settled (each accepted and spooled, or late). False if not (already closing, or
   * the epoch moved on: this replica is no longer the owner).
   */
  beginClose(i: { taskId: string; round: number; epoch: number }): Promise<boolean>
  /** A replica's partial for a round (upsert). */
  writePartial(p: PartialSum): Promise<void>
  partials(taskId: string, round: number): Promise<PartialSum[]>
  /**
   * The spooled updates of a round (optionally only some replicas'), in accept order, fetched
   * a few rows at a time: a round of 1000 synet updates is 4.8 GB.
   */
  spool(taskId: string, round: number, replicaIds?: readonly string[]): AsyncIterable<SpoolRow>
  /** The spooled updates' metadata, in accept order, without bytes. */
  spoolMeta(taskId: string, round: number): Promise<SpoolMeta[]>
  /** Spooled devices per replica (ids only, sorted). */
  spooledBy(taskId: string, round: number): Promise<Map<string, string[]>>
  /**
   * Owner, fenced: the round closed (its patch as Store.closeRound takes) + task patch + the
   * round's spool and partials deleted, in one transaction. False if the epoch moved on.
   */
  finishRound(i: {
    epoch: number
    round: ClosePatch['round']
    task: ClosePatch['task']
    phase: 'committed' | 'abandoned'
  }): Promise<boolean>
  /** Owner, fenced: the task's row patched (a private task stopped at its budget). */
  updateTask(i: { epoch: number; taskId: string; task: ClosePatch['task'] }): Promise<boolean>
  /**
   * Owner, fenced: the next round inserted (phase open, with the settings every replica runs it
   * by) and tasks.round moved, atomically.
   */
  openRound(i: { epoch: number; round: RoundRecord; frozen?: FrozenSettings }): Promise<boolean>
  /** Secure rounds' SecAgg+ calls, one log per round that every replica replays. */
  readonly secure: SecureLog
}

export interface LedgerOptions {
  /** Spool rows fetched per query while streaming a round's spool. */
  spoolBatch?: number
  /** The secure rounds' log's clock (default Date.now). */
  now?: () => number
}
