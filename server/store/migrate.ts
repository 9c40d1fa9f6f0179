import { readdir, readFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import type { Database } from './sql.ts'

export interface Migration {
  version: number
  name: string
  sql: string
}

/** The folder of `NNN-name.sql` files, next to this module. */
export const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url)

/**
 * The advisory lock (bigint key space) held while migrations are checked and applied, so that
 * replicas starting together on one database apply them once: the second waits, then finds
 * nothing to do. 'pollen' in ASCII, to stay clear of other keys.
 */
export const MIGRATION_LOCK = 0x706f6c6c656e

const FILE = /^(\d{3})-([a-z0-9][a-z0-9-]*)\.sql$/

/** The migrations in a folder, in version order; a misnamed or duplicate file is an error. */
export async function readMigrations(folder: URL | string = MIGRATIONS_DIR): Promise<Migration[]> {
  const dir = typeof folder === 'string' ? pathToFileURL(folder.replace(/\/?$/, '/')) : folder
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql'))
  const migrations: Migration[] = []
  for (const file of files) {
    const match = FILE.exec(file)
    if (!match)
      throw new Error(`migration ${file}: name it NNN-name.sql (3-digit version, lowercase name)`)
    const version = Number(match[1])
    const clash = migrations.find((m) => m.version === version)
    if (clash) throw new Error(`migrations ${clash.name} and ${file} share version ${version}`)
    const sql = await readFile(new URL(file, dir), 'utf8')
    migrations.push({ version, name: file.slice(0, -'.sql'.length), sql })
  }
  return migrations.sort((a, b) => a.version - b.version)
}

export interface MigrateOptions {
  /** Defaults to the files in MIGRATIONS_DIR. */
  migrations?: Migration[]
  now?: () => number
}

/**
 * Brings the database's schema up to date: each migration not yet recorded in
 * schema_migrations runs in its own transaction with its record, in version order, all under
 * MIGRATION_LOCK. Returns the versions it applied. A database that records a version this
 * code does not know was migrated by a newer coordinator: refused rather than run on blindly.
 */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<number[]> {
  const { now = Date.now } = options
  const migrations = options.migrations ?? (await readMigrations())
  return db.session(async (s) => {
    await s.query(`select pg_advisory_lock(${MIGRATION_LOCK})`)
    try {
      await s.exec(
        `create table if not exists schema_migrations (
           version integer primary key,
           name text not null,
           applied_at bigint not null
         )`,
      )
      const { rows } = await s.query<{ version: number }>('select version from schema_migrations')
      const done = new Set(rows.map((r) => r.version))
      const known = new Set(migrations.map((m) => m.version))
      const unknown = [...done].filter((v) => !known.has(v)).sort((a, b) => a - b)
      if (unknown.length > 0)
        throw new Error(
          `the database records schema migration ${unknown.join(', ')}, which this coordinator does not have: it was migrated by a newer version`,
        )
      const applied: number[] = []
      for (const m of migrations) {
        if (done.has(m.version)) continue
        await s.transaction(async (tx) => {
          await tx.exec(m.sql)
          await tx.query(
            'insert into schema_migrations (version, name, applied_at) values ($1, $2, $3)',
            [m.version, m.name, now()],
          )
        })
        applied.push(m.version)
      }
      return applied
    } finally {
      await s.query(`select pg_advisory_unlock(${MIGRATION_LOCK})`)
    }
  })
}
