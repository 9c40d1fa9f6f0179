import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { pgliteStore } from './index.ts'
import { aTask, storeSuite } from './store.case.ts'

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
})
