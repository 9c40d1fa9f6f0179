import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { freshDatabase } from './testing-pg.ts'
import { redactUrl } from './url.ts'

describe('freshDatabase', () => {
  it('makes an empty database of its own, and drops it with its connections', async () => {
    const db = await freshDatabase('Testing-PG')
    expect(db.name).toMatch(/^pollen_testing_pg_[0-9a-f]{12}$/)
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    const { rows } = await client.query<{ n: string }>(
      "select count(*) as n from information_schema.tables where table_schema = 'public'",
    )
    expect(rows[0]?.n).toBe('0')
    // Left open on purpose: drop must still succeed.
    client.on('error', () => {})
    await db.drop()
    const check = new pg.Client({ connectionString: db.url })
    await expect(check.connect()).rejects.toThrow(/does not exist/)
  })

  it('hides a password in the URLs it prints', () => {
    expect(redactUrl('postgres://u:secret@h:5432/d')).toBe('postgres://u:***@h:5432/d')
    expect(redactUrl('not a url')).not.toContain('not a url')
  })
})
