import type { Sql } from './sql.ts'

/**
 * The setting `key`, made by `make` if no replica has made it yet. The first writer wins:
 * replicas starting together all read back the same value. `made`: this call wrote it.
 */
export async function settingOnce(
  db: Sql,
  key: string,
  make: () => string,
  now: () => number = Date.now,
): Promise<{ value: string; made: boolean }> {
  const { rowCount } = await db.query(
    'insert into settings (key, value, created_at) values ($1, $2, $3) on conflict (key) do nothing',
    [key, make(), now()],
  )
  const { rows } = await db.query<{ value: string }>('select value from settings where key = $1', [
    key,
  ])
  if (!rows[0]) throw new Error(`setting ${key} vanished as it was made`)
  return { value: rows[0].value, made: rowCount > 0 }
}
