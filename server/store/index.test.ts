import { PGlite } from '@electric-sql/pglite'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { pgliteStore } from './index.ts'
import { aRound, aTask, storeSuite } from './store.case.ts'

storeSuite('pglite in memory', () => pgliteStore('memory://'))

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
    // The database as an older coordinator left it: no such column.
    const raw = await PGlite.create(dir)
    await raw.exec('alter table rounds drop column accuracy_by_label')
    await raw.close()
    const second = await pgliteStore(dir)
    expect((await second.listRounds('old'))[0]).toMatchObject({
      accuracy: 0.5,
      accuracyByLabel: null,
    })
    await second.close()
  })
})
