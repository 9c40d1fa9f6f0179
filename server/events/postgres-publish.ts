import type { Pool } from 'pg'

export const CHANNEL = 'pollen_events'
/** 'pollen' 0x0004 (migration 004): publishers on every replica queue on it, see below. */
const PUBLISH_LOCK = '8101813467476787204'

/**
 * Stores events (as JSON text) in the `events` table in the order they are handed over, in
 * batches. A batch is one statement: it takes a transaction advisory lock, inserts the rows (the
 * bigserial id is the stream's id) and NOTIFYs the newest id only (a payload may not exceed 8000
 * bytes; an event may). Publishers on every replica queue on that lock until the commit, so ids
 * commit in the order they are drawn: no reader that passed id n ever sees a smaller id appear.
 * A batch that fails is logged and dropped (events are news, not records).
 */
export function eventPublisher(
  pool: Pool,
  { keep, batch, log }: { keep: number; batch: number; log: (message: string) => void },
) {
  const queue: string[] = []
  let storing: Promise<void> | undefined
  let lastStored = 0
  let sincePrune = 0

  const prune = async (count: number) => {
    sincePrune += count
    if (sincePrune < Math.max(100, keep / 10)) return
    sincePrune = 0
    await pool.query('delete from events where id <= (select max(id) from events) - $1', [keep])
  }

  const store = async () => {
    while (queue.length > 0) {
      const events = queue.splice(0, batch)
      try {
        const { rows } = await pool.query<{ last: string }>(
          `with locked as (select pg_advisory_xact_lock($1::bigint)),
           stored as (
             insert into events (event)
             select e from locked, unnest($2::text[]) with ordinality as t(e, n) order by n
             returning id)
           select max(id)::text as last, pg_notify('${CHANNEL}', max(id)::text) from stored`,
          [PUBLISH_LOCK, events],
        )
        lastStored = Math.max(lastStored, Number(rows[0]?.last ?? 0))
        await prune(events.length)
      } catch (error) {
        log(`events: ${events.length} not published: ${(error as Error).message}`)
      }
    }
  }

  return {
    publish(json: string) {
      queue.push(json)
      storing ??= store().finally(() => (storing = undefined))
    },
    /** Resolves, once everything handed over so far is stored, with the newest id stored. */
    async stored() {
      while (storing) await storing
      return lastStored
    },
  }
}
