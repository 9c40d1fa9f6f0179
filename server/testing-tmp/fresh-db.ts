// Until pg-store's postgresDatabase() (a Database over a pg.Pool, for migrate()) is on main: the
// shipped migrations' SQL, run in order on a fresh test database.
import pg from 'pg'
import { readMigrations } from '../store/migrate.ts'
import { freshDatabase } from '../store/testing-pg.ts'

export { freshDatabase }

export async function applyMine(pool: pg.Pool) {
  for (const migration of await readMigrations()) await pool.query(migration.sql)
}
