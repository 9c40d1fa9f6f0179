import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { DEFAULT_MODEL_BUDGET, type ModelBudget } from '../shared/models/index.ts'
import { DEFAULT_HELD_OUT_LIMITS, type HeldOutLimits } from './datasets/index.ts'
import { redactUrl } from './store/index.ts'

export interface Config {
  port: number
  host: string
  dataDir: string
  /**
   * POLLEN_ADMIN_TOKEN, else the data dir's (made on first start). Undefined only with a
   * database server and no POLLEN_ADMIN_TOKEN: then every replica shares the one kept in the
   * database (backing.ts), since a token per data dir would differ between replicas.
   */
  adminToken: string | undefined
  /** True when the token was made now (first start), so it is worth printing. */
  adminTokenGenerated: boolean
  /** POLLEN_DATABASE_URL: the store on a PostgreSQL server; undefined: PGlite in the data dir. */
  database: DatabaseConfig | undefined
  demoTask: boolean
  /** HTTPS: certificate and key files, or a self-signed certificate made on request. */
  tls: { cert: string; key: string } | 'self-signed' | undefined
  /** What a custom model may cost (parameters, activations per example), checked before a build. */
  modelBudget: ModelBudget
  /** How long building one custom model may take, in seconds. */
  modelBuildSeconds: number
  /** A held-out upload's body, what its files expand to, and its examples. */
  heldOutLimits: HeldOutLimits
}

export interface DatabaseConfig {
  url: string
  /** Connections this process may hold (POLLEN_DATABASE_POOL). */
  poolSize: number
  /** How often a replica tries to take tasks no live replica owns (POLLEN_TAKEOVER_POLL_MS). */
  takeoverPollMs: number
}

export class ConfigError extends Error {}

/** POLLEN_DATABASE_URL and POLLEN_DATABASE_POOL; errors never show the URL's password. */
function readDatabase(env: NodeJS.ProcessEnv): DatabaseConfig | undefined {
  const url = env.POLLEN_DATABASE_URL
  if (url === undefined || url === '') {
    if (env.POLLEN_DATABASE_POOL)
      throw new ConfigError('POLLEN_DATABASE_POOL needs POLLEN_DATABASE_URL (a PostgreSQL server)')
    return undefined
  }
  let protocol = ''
  try {
    protocol = new URL(url).protocol
  } catch {
    // Not echoed: an unparsable URL may still hold a password.
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:')
    throw new ConfigError(
      `POLLEN_DATABASE_URL must be a postgres:// or postgresql:// URL, got ${redactUrl(url)}`,
    )
  return {
    url,
    poolSize: integer(env, 'POLLEN_DATABASE_POOL', 10, 100),
    takeoverPollMs: integer(env, 'POLLEN_TAKEOVER_POLL_MS', 1000, 60_000),
  }
}

/** Reads the environment (see the README's configuration table). */
export async function readConfig(env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`)
  const dataDir = resolve(env.POLLEN_DATA || './.pollen')
  await mkdir(dataDir, { recursive: true })
  const database = readDatabase(env)
  const tokenFile = join(dataDir, 'admin-token')
  let adminToken = env.POLLEN_ADMIN_TOKEN ?? ''
  let adminTokenGenerated = false
  if (!adminToken && !database) {
    adminToken = (await readFile(tokenFile, 'utf8').catch(() => '')).trim()
    if (!adminToken) {
      adminToken = randomBytes(24).toString('base64url')
      await writeFile(tokenFile, adminToken + '\n', { mode: 0o600 })
      await chmod(tokenFile, 0o600)
      adminTokenGenerated = true
    }
  }
  if (adminToken && adminToken.length < 16)
    throw new ConfigError('POLLEN_ADMIN_TOKEN must be at least 16 characters')
  const { POLLEN_TLS_CERT: cert, POLLEN_TLS_KEY: key, POLLEN_TLS: tlsMode } = env
  if (Boolean(cert) !== Boolean(key))
    throw new ConfigError('set both POLLEN_TLS_CERT and POLLEN_TLS_KEY, or neither')
  if (tlsMode && tlsMode !== 'self-signed')
    throw new ConfigError(
      `POLLEN_TLS must be "self-signed" (or unset), got ${JSON.stringify(tlsMode)}`,
    )
  const modelBudget: ModelBudget = {
    maxParameters: integer(
      env,
      'POLLEN_MODEL_MAX_PARAMETERS',
      DEFAULT_MODEL_BUDGET.maxParameters,
      1e9,
    ),
    maxActivations: integer(
      env,
      'POLLEN_MODEL_MAX_ACTIVATIONS',
      DEFAULT_MODEL_BUDGET.maxActivations,
      1e9,
    ),
  }
  const buildText = env.POLLEN_MODEL_BUILD_SECONDS
  const modelBuildSeconds = buildText === undefined || buildText === '' ? 20 : Number(buildText)
  if (!(modelBuildSeconds > 0 && modelBuildSeconds <= 600))
    throw new ConfigError(
      `POLLEN_MODEL_BUILD_SECONDS must be a number of seconds above 0, at most 600, got ${JSON.stringify(buildText)}`,
    )
  const d = DEFAULT_HELD_OUT_LIMITS
  const heldOutLimits: HeldOutLimits = {
    maxBodyBytes: integer(env, 'POLLEN_HELD_OUT_MAX_BYTES', d.maxBodyBytes, 2 ** 30),
    maxExpandedBytes: integer(
      env,
      'POLLEN_HELD_OUT_MAX_EXPANDED_BYTES',
      d.maxExpandedBytes,
      2 ** 32,
    ),
    maxExamples: integer(env, 'POLLEN_HELD_OUT_MAX_EXAMPLES', d.maxExamples, 1_000_000),
  }
  return {
    port,
    host: env.HOST || '0.0.0.0',
    dataDir,
    adminToken: adminToken || undefined,
    adminTokenGenerated,
    database,
    demoTask: env.POLLEN_DEMO !== '0',
    tls: cert && key ? { cert, key } : tlsMode === 'self-signed' ? 'self-signed' : undefined,
    modelBudget,
    modelBuildSeconds,
    heldOutLimits,
  }
}

/** A positive integer from the environment, at most `max`; `fallback` when unset or empty. */
function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const text = env[name]
  if (text === undefined || text === '') return fallback
  const value = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!(value >= 1 && value <= max))
    throw new ConfigError(
      `${name} must be an integer from 1 to ${max.toLocaleString('en-US')}, got ${JSON.stringify(text)}`,
    )
  return value
}
