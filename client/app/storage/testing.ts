// For the phone app's tests in Chromium: real IndexedDB databases under fresh names, each closed
// after its test, so tests never share or block one another's upgrades.
import { afterEach } from 'vitest'
import { openPollenDB, type PollenDatabase } from './index.ts'

export function testDatabases(prefix: string) {
  let opened: PollenDatabase[] = []
  let n = 0
  afterEach(() => {
    for (const db of opened) db.close()
    opened = []
  })
  /** A database name no other test of this file uses. */
  const name = (label = 'db') => `${prefix}-${label}-${n++}`
  /** Opens `name` (a fresh one by default) at `version` (the current one by default). */
  const open = async (dbName = name(), version?: number): Promise<PollenDatabase> => {
    const db = await openPollenDB({ name: dbName, ...(version ? { version } : {}) })
    opened.push(db)
    return db
  }
  return { open, name }
}
