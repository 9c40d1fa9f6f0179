import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MODEL_BUDGET } from '../shared/models/index.ts'
import { DEFAULT_HELD_OUT_LIMITS } from './datasets/index.ts'
import { ConfigError, readConfig } from './config.ts'

const env = async (extra: Record<string, string> = {}) => ({
  POLLEN_DATA: await mkdtemp(join(tmpdir(), 'pollen-config-')),
  POLLEN_ADMIN_TOKEN: 'test-admin-token-0123456789',
  ...extra,
})

describe('readConfig: the custom-model budget and build bound', () => {
  it('defaults to a phone-sized budget and a 20 s build bound', async () => {
    const config = await readConfig(await env())
    expect(config.modelBudget).toEqual(DEFAULT_MODEL_BUDGET)
    expect(config.modelBudget).toEqual({ maxParameters: 10_000_000, maxActivations: 1_000_000 })
    expect(config.modelBuildSeconds).toBe(20)
  })

  it('reads the three variables', async () => {
    const config = await readConfig(
      await env({
        POLLEN_MODEL_MAX_PARAMETERS: '2000000',
        POLLEN_MODEL_MAX_ACTIVATIONS: '50000',
        POLLEN_MODEL_BUILD_SECONDS: '2.5',
      }),
    )
    expect(config.modelBudget).toEqual({ maxParameters: 2_000_000, maxActivations: 50_000 })
    expect(config.modelBuildSeconds).toBe(2.5)
  })

  it.each([
    ['POLLEN_MODEL_MAX_PARAMETERS', '0'],
    ['POLLEN_MODEL_MAX_PARAMETERS', '1e7'],
    ['POLLEN_MODEL_MAX_PARAMETERS', '2000000000'],
    ['POLLEN_MODEL_MAX_ACTIVATIONS', '-5'],
    ['POLLEN_MODEL_MAX_ACTIVATIONS', 'lots'],
    ['POLLEN_MODEL_BUILD_SECONDS', '0'],
    ['POLLEN_MODEL_BUILD_SECONDS', '601'],
    ['POLLEN_MODEL_BUILD_SECONDS', 'Infinity'],
    ['POLLEN_HELD_OUT_MAX_BYTES', '0'],
    ['POLLEN_HELD_OUT_MAX_BYTES', String(2 ** 30 + 1)],
    ['POLLEN_HELD_OUT_MAX_EXPANDED_BYTES', '1.5'],
    ['POLLEN_HELD_OUT_MAX_EXAMPLES', '1000001'],
  ])('refuses %s=%s, naming it', async (name, value) => {
    const read = readConfig(await env({ [name]: value }))
    await expect(read).rejects.toThrow(ConfigError)
    await expect(read).rejects.toThrow(name)
  })
})

describe('readConfig: the held-out upload bounds', () => {
  it('defaults to 64 MiB sent, 256 MiB expanded, 50,000 examples, and reads each', async () => {
    expect((await readConfig(await env())).heldOutLimits).toEqual(DEFAULT_HELD_OUT_LIMITS)
    expect(DEFAULT_HELD_OUT_LIMITS).toEqual({
      maxBodyBytes: 64 * 1024 * 1024,
      maxExpandedBytes: 256 * 1024 * 1024,
      maxExamples: 50_000,
    })
    const config = await readConfig(
      await env({
        POLLEN_HELD_OUT_MAX_BYTES: '1048576',
        POLLEN_HELD_OUT_MAX_EXPANDED_BYTES: '4194304',
        POLLEN_HELD_OUT_MAX_EXAMPLES: '100',
      }),
    )
    expect(config.heldOutLimits).toEqual({
      maxBodyBytes: 1_048_576,
      maxExpandedBytes: 4_194_304,
      maxExamples: 100,
    })
  })
})

describe('readConfig: the database', () => {
  it('keeps the store in the data dir without POLLEN_DATABASE_URL', async () => {
    const config = await readConfig(await env())
    expect(config.database).toBeUndefined()
    expect(config.adminToken).toBe('test-admin-token-0123456789')
  })

  it.each(['postgres', 'postgresql'])('reads a %s:// URL and the pool size', async (scheme) => {
    const url = `${scheme}://pollen:secret@db.example:5432/pollen`
    expect((await readConfig(await env({ POLLEN_DATABASE_URL: url }))).database).toEqual({
      url,
      poolSize: 10,
      takeoverPollMs: 1000,
    })
    const sized = await readConfig(
      await env({ POLLEN_DATABASE_URL: url, POLLEN_DATABASE_POOL: '100' }),
    )
    expect(sized.database?.poolSize).toBe(100)
  })

  it('reads the takeover poll, bounded, only with a database', async () => {
    const url = 'postgres://postgres@127.0.0.1/pollen'
    const fast = await readConfig(
      await env({ POLLEN_DATABASE_URL: url, POLLEN_TAKEOVER_POLL_MS: '200' }),
    )
    expect(fast.database?.takeoverPollMs).toBe(200)
    for (const bad of ['0', '60001', '1.5', 'soon'])
      await expect(
        readConfig(await env({ POLLEN_DATABASE_URL: url, POLLEN_TAKEOVER_POLL_MS: bad })),
      ).rejects.toThrow(/POLLEN_TAKEOVER_POLL_MS must be an integer from 1 to 60,000/)
  })

  it.each([
    ['mysql://u:hunter2@h/db', /POLLEN_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\//],
    ['hunter2', /POLLEN_DATABASE_URL must be/],
    ['postgres://u:hunter2@h/db|0', /POLLEN_DATABASE_POOL must be an integer from 1 to 100/],
    ['postgres://u:hunter2@h/db|101', /POLLEN_DATABASE_POOL/],
    ['postgres://u:hunter2@h/db|ten', /POLLEN_DATABASE_POOL/],
    ['|5', /POLLEN_DATABASE_POOL needs POLLEN_DATABASE_URL/],
  ])('refuses %s, naming the variable and never the password', async (given, message) => {
    const [url = '', pool] = given.split('|')
    const read = readConfig(
      await env({ POLLEN_DATABASE_URL: url, ...(pool ? { POLLEN_DATABASE_POOL: pool } : {}) }),
    )
    await expect(read).rejects.toThrow(ConfigError)
    await expect(read).rejects.toThrow(message)
    await expect(read).rejects.not.toThrow(/hunter2/)
  })

  it('leaves the admin token to the database when none is given, and writes no token file', async () => {
    const base = await env({ POLLEN_DATABASE_URL: 'postgres://postgres@127.0.0.1/pollen' })
    const config = await readConfig({ ...base, POLLEN_ADMIN_TOKEN: '' })
    expect(config.adminToken).toBeUndefined()
    expect(config.adminTokenGenerated).toBe(false)
    await expect(readFile(join(base.POLLEN_DATA, 'admin-token'))).rejects.toThrow(/ENOENT/)
    // Given, it is used as in embedded mode.
    expect((await readConfig(base)).adminToken).toBe('test-admin-token-0123456789')
  })
})
