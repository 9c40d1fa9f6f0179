import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import pg from 'pg'
import {
  fileBlobStore,
  postgresBlobStore,
  sweepBlobTemporaries,
  type BlobStore,
} from './blobs/index.ts'
import type { Config } from './config.ts'
import { createEventBus, postgresEventBus, type EventBus } from './events/index.ts'
import {
  pgliteStore,
  postgresDatabase,
  postgresStore,
  redactUrl,
  settingOnce,
  type Store,
} from './store/index.ts'

export interface AdminToken {
  token: string
  /** Made by this start: worth printing once. */
  generated: boolean
  /** Where it is kept, for the log line. */
  from: string
}

/** What the coordinator persists to, for the mode the configuration chose. */
export interface Backing {
  mode: 'embedded' | 'postgresql'
  store: Store
  blobs: BlobStore
  /** Server events: in this process, or shared by every replica through the database. */
  events: EventBus
  /** PostgreSQL mode: the process's pool, for the parts that share the server (events, cluster). */
  pool: pg.Pool | undefined
  adminToken: AdminToken
  /**
   * Whether this start is the one to create the demo task: always on a data dir with no task;
   * on PostgreSQL, only the first replica ever to ask, so replicas starting together make one.
   */
  claimDemo(): Promise<boolean>
  /** Closes what it opened, after the coordinator has stopped using it. */
  close(): Promise<void>
}

/** One admin token for every replica: the first to start makes it, the rest read it. */
async function sharedAdminToken(pool: pg.Pool): Promise<AdminToken> {
  const { value, made } = await settingOnce(postgresDatabase(pool), 'admin_token', () =>
    randomBytes(24).toString('base64url'),
  )
  return { token: value, generated: made, from: 'the database (shared by every replica)' }
}

/**
 * Embedded (no POLLEN_DATABASE_URL): PGlite and blob files under the data dir, as one process.
 * PostgreSQL: the store on the server through one pool, migrated at open (replicas starting
 * together apply migrations once), the admin token shared through the database.
 */
export async function openBacking(
  config: Config,
  options: { log?: (message: string) => void } = {},
): Promise<Backing> {
  const { log = () => {} } = options
  const fromConfig = (from: string): AdminToken | undefined =>
    config.adminToken === undefined
      ? undefined
      : { token: config.adminToken, generated: config.adminTokenGenerated, from }

  if (!config.database) {
    const blobDir = join(config.dataDir, 'blobs')
    await sweepBlobTemporaries(blobDir)
    const store = await pgliteStore(join(config.dataDir, 'db'))
    const adminToken = fromConfig(
      process.env.POLLEN_ADMIN_TOKEN ? 'POLLEN_ADMIN_TOKEN' : join(config.dataDir, 'admin-token'),
    )
    if (!adminToken) throw new Error('no admin token in embedded mode')
    return {
      mode: 'embedded',
      store,
      blobs: fileBlobStore(blobDir),
      events: createEventBus(),
      pool: undefined,
      adminToken,
      claimDemo: () => Promise.resolve(true),
      close: () => store.close(),
    }
  }

  const pool = new pg.Pool({
    connectionString: config.database.url,
    max: config.database.poolSize,
    application_name: 'pollen',
    // A dead server or host is noticed on idle connections too, not at the next query only.
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
  })
  // An idle connection's error (the server restarting) would otherwise end the process.
  pool.on('error', (error) => log(`database connection lost: ${error.message}`))
  try {
    const store = await postgresStore(pool)
    const adminToken = fromConfig('POLLEN_ADMIN_TOKEN') ?? (await sharedAdminToken(pool))
    // Every replica reads every model, and every dashboard sees every replica's events.
    const events = await postgresEventBus(pool, { log })
    log(`store, blobs and events on PostgreSQL at ${redactUrl(config.database.url)}`)
    return {
      mode: 'postgresql',
      store,
      blobs: postgresBlobStore(pool),
      events,
      pool,
      adminToken,
      async claimDemo() {
        const demo = await settingOnce(postgresDatabase(pool), 'demo_task', () => 'claimed')
        return demo.made
      },
      async close() {
        await events.close()
        await store.close()
        await pool.end()
      },
    }
  } catch (error) {
    await pool.end()
    throw error
  }
}
