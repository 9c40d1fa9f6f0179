import { PGlite } from '@electric-sql/pglite'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { pgliteStore } from './index.ts'
import { aRound, aTask, storeSuite } from './store.case.ts'

storeSuite('pglite in memory', () => pgliteStore('memory://'))

// The upgrade tests below make a database with today's code, then take it back to what an older
// coordinator left (a column or table gone, no schema_migrations), so reopening runs every
// migration again over tables that exist: they hold while migrations stay idempotent (all are,
// with `if not exists`). migrate.test.ts builds an old data dir from the old schema alone.
describe('pglite on disk', () => {
  it('keeps what it stored across a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pollen-store-'))
    const first = await pgliteStore(dir)
    await first.insertTask(aTask('kept'))
    await first.close()
    const second = await pgliteStore(dir)
    expect((await second.getTask('kept'))?.spec.name).toBe('task kept')
    await second.close()
  })

  it('reads rounds stored before accuracy_by_label existed as not evaluated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pollen-store-'))
    const first = await pgliteStore(dir)
    await first.insertTask(aTask('old'))
    await first.openRound({ ...aRound('old', 1), status: 'committed', accuracy: 0.5 })
    await first.close()
    // The database as an older coordinator left it: no such column, no migrations recorded.
    const raw = await PGlite.create(dir)
    await raw.exec('alter table rounds drop column accuracy_by_label; drop table schema_migrations')
    await raw.close()
    const second = await pgliteStore(dir)
    expect((await second.listRounds('old'))[0]).toMatchObject({
      accuracy: 0.5,
      accuracyByLabel: null,
    })
    await second.close()
  })

  it('dates the first assignment of rounds stored before first_assigned_at existed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pollen-store-'))
    const first = await pgliteStore(dir)
    await first.insertTask(aTask('old'))
    await first.openRound({ ...aRound('old', 1), startedAt: 1_000 })
    await first.openRound({ ...aRound('old', 2), startedAt: 2_000 })
    await first.insertDevice({
      ...{ id: 'd1', tokenHash: 'h1', label: null, capabilities: null, datasets: [] },
      ...{ enrolledAt: 1, lastSeenAt: 1 },
    })
    for (const [deviceId, assignedAt] of [['d1', 151_000]] as const)
      await first.insertAssignment({
        ...{ taskId: 'old', round: 1, deviceId, state: 'reported', examples: 5, assignedAt },
        ...{ answeredAt: null, backend: null, examplesPerSecond: null, downloadedAt: null },
        bytesUp: 0,
      })
    await first.close()
    // The database as an older coordinator left it: no such column, no migrations recorded.
    const raw = await PGlite.create(dir)
    await raw.exec('alter table rounds drop column first_assigned_at; drop table schema_migrations')
    await raw.close()
    const second = await pgliteStore(dir)
    expect((await second.listRounds('old')).map((r) => r.firstAssignedAt)).toEqual([151_000, null])
    await second.close()
  })

  it('gives a data dir from before datasets the table, its tasks kept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pollen-store-'))
    const first = await pgliteStore(dir)
    await first.insertTask(aTask('old'))
    await first.close()
    // The database as an older coordinator left it: no datasets table, no migrations recorded.
    const raw = await PGlite.create(dir)
    await raw.exec('drop table datasets; drop table schema_migrations')
    await raw.close()
    const second = await pgliteStore(dir)
    expect(await second.listDatasets()).toEqual([])
    expect((await second.getTask('old'))?.spec.dataset).toBe('mnist')
    await second.close()
  })
})
