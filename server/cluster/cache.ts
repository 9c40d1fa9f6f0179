import { selectedPerRound } from '../../shared/protocol/index.ts'
import type { ModelInfo } from '../models/index.ts'
import type { Core, LiveRound, LiveTask, RoundPhase, RoundPolicy } from '../rounds/live.ts'
import type { RoundRecord, TaskRecord } from '../store/index.ts'
import { roundState } from '../rounds/transitions.ts'
import type { FrozenSettings, Ledger } from './ledger.ts'

/**
 * What a sync round on replicas asks of the round engine's policy seam: only its pure parts
 * (how full a round is, when its work is due, what an update may claim). Selection, uploads and
 * the close go through the ledger instead, so the parts that decide are not here.
 */
export const clusterPolicy: RoundPolicy = {
  begin: () => {},
  selectionStarted: () => {},
  beforeCheckin: () => {},
  resume: () => undefined,
  load: (_, round) => round.record.selected / selectedPerRound(round.settings),
  mayJoin: (round, deviceId) => !round.devices.has(deviceId),
  deadlineAt: (round, now) => round.record.deadlineAt ?? now,
  selected: (round, device, _answer, claim) => void round.claims.set(device.id, claim),
  closing: () => Promise.reject(new Error('a replica closes rounds through the ledger')),
  upload: () => Promise.reject(new Error('a replica takes uploads through the ledger')),
  wrap: (strategy) => strategy,
}

/**
 * The in-memory state of round `record` on this replica: its own partial aggregation, and the
 * round and training settings its owner opened it with, so that a PATCH between two replicas' first sight of the
 * round does not split it (null: a round stored before they were, run by the task's spec).
 */
export function clusterRound(
  live: LiveTask,
  record: RoundRecord,
  phase: RoundPhase,
  frozen: FrozenSettings | null,
): LiveRound {
  const round = roundState(live, record, phase, 0)
  if (frozen) Object.assign(round, { settings: { ...frozen.settings }, train: { ...frozen.train } })
  return round
}

/**
 * Every replica's view of the tasks: read from the database (the truth), refreshed by a poll
 * and on events, so that the synchronous getters (getTask, listTasks, currentModel, snapshot)
 * and the check-in's choice answer from memory. A round's counters here may trail the database
 * by a poll; every decision that must be exact (selection, acceptance) is the ledger's.
 */
export function createTaskCache(
  core: Core,
  {
    ledger,
    addLiveTask,
    busy,
  }: {
    ledger: Ledger
    addLiveTask: (record: TaskRecord, info: ModelInfo) => LiveTask
    /** Tasks whose round this replica is closing now: their record is its own until stored. */
    busy: (taskId: string) => boolean
  },
) {
  const { store, models, tasks } = core

  /** The bounds the task's last committed round applied (the next round's bounds start there). */
  async function lastBounds(live: LiveTask) {
    const rounds = await store.listRounds(live.record.id)
    live.bounds = rounds.filter((r) => r.status === 'committed').at(-1)?.updateBounds ?? null
  }

  /** The task's current round as the database has it: kept (same number) or begun here. */
  async function refreshRound(live: LiveTask) {
    const task = live.record
    const row = task.round > 0 ? await ledger.round(task.id, task.round) : undefined
    if (!row || row.phase === 'committed' || row.phase === 'abandoned') {
      live.open = undefined
      return
    }
    const { phase, frozen, ...record } = row
    const open = live.open
    if (open && open.record.round === record.round) {
      // Counters and times from the database; the round's own facts (base model) never change.
      Object.assign(open.record, record)
      open.phase = phase
      return
    }
    await lastBounds(live)
    live.open = clusterRound(live, record, phase, frozen)
  }

  /** One task from the database (gone: forgotten here). */
  async function refreshTask(id: string): Promise<LiveTask | undefined> {
    if (busy(id)) return tasks.get(id)
    const record = await store.getTask(id)
    if (!record) {
      tasks.delete(id)
      return undefined
    }
    return update(record)
  }

  async function update(record: TaskRecord): Promise<LiveTask> {
    let live = tasks.get(record.id)
    // Read before a round this replica has since seen open (a poll that raced the owner's
    // openNext): applying it would forget the open round until the next poll.
    if (live && record.round < live.record.round) return live
    // The same record object: the task's strategy reads its spec as each round begins.
    if (live) Object.assign(live.record, record)
    else live = addLiveTask(record, models.info(record.spec.model))
    await refreshRound(live)
    return live
  }

  /** Every task from the database. */
  async function refresh(): Promise<void> {
    const records = await store.listTasks()
    const ids = new Set(records.map((r) => r.id))
    for (const id of tasks.keys()) if (!ids.has(id) && !busy(id)) tasks.delete(id)
    for (const record of records) if (!busy(record.id)) await update(record)
  }

  return { refresh, refreshTask, refreshRound }
}

export type TaskCache = ReturnType<typeof createTaskCache>
