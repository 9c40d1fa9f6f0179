/**
 * A child process for migrate-race.test.ts: connects to the database in argv[2], says
 * "ready", waits for a line on stdin (so that several start at the same moment), then opens
 * the store as a replica does and prints what its own migration run applied.
 */
import { createInterface } from 'node:readline'
import pg from 'pg'
import { migrate } from './migrate.ts'
import { postgresDatabase, postgresStore } from './postgres.ts'

const pool = new pg.Pool({ connectionString: process.argv[2], max: 2 })
await pool.query('select 1')
console.log('ready')
const lines = createInterface({ input: process.stdin })
await new Promise<void>((resolve) => lines.once('line', () => resolve()))
lines.close()
const applied = await migrate(postgresDatabase(pool))
const store = await postgresStore(pool)
console.log(JSON.stringify({ applied, tasks: (await store.listTasks()).length }))
await store.close()
await pool.end()
