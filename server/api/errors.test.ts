import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, type ErrorCode, isErrorCode } from '../../shared/protocol/index.ts'
import { SecAggError } from '../../shared/secagg/index.ts'
import { invalidRequest, PollenError } from '../errors.ts'
import { Busy, onError } from './errors.ts'

const root = join(import.meta.dirname, '../..')
const codes = Object.keys(ERROR_CODES) as ErrorCode[]

/** An app whose one route throws `error`. */
async function answer(error: Error) {
  const app = new Hono()
  const logged: string[] = []
  app.onError(onError((m) => logged.push(m)))
  app.get('/', () => {
    throw error
  })
  const response = await app.request('/')
  return { response, body: (await response.json()) as { error: { code: string } }, logged }
}

describe('the error table', () => {
  it('is the one place a code gets its status: the API answers each code with it', async () => {
    for (const code of codes) {
      const { response, body, logged } = await answer(new PollenError(code, 'because'))
      expect([code, response.status]).toEqual([code, ERROR_CODES[code].status])
      expect(body.error.code).toBe(code)
      expect(logged).toEqual([])
    }
  })

  it('answers Busy with Retry-After, and a body timeout closing the connection', async () => {
    const busy = await answer(new Busy('too_many_uploads', 'wait', 4.2))
    expect(busy.response.status).toBe(429)
    expect(busy.response.headers.get('Retry-After')).toBe('5')
    const timeout = await answer(new PollenError('body_timeout', 'slow', '(body)'))
    expect(timeout.response.status).toBe(408)
    expect(timeout.response.headers.get('Connection')).toBe('close')
  })

  it("names the framework's own 401 and 413 by the table; anything else is internal", async () => {
    const large = await answer(new HTTPException(413))
    expect([large.response.status, large.body.error.code]).toEqual([413, 'payload_too_large'])
    const token = await answer(new HTTPException(401, { message: 'no' }))
    expect([token.response.status, token.body.error.code]).toEqual([401, 'unauthorized'])
    const odd = await answer(new Error('a bug'))
    expect([odd.response.status, odd.body.error.code]).toEqual([500, 'internal'])
    expect(odd.logged).toHaveLength(1)
  })

  it('gives a body that fails its schema every issue, the first as its field', () => {
    const error = invalidRequest([
      { field: 'rounds.minReports', message: 'too many' },
      { field: 'name', message: 'empty' },
    ])
    expect(error).toMatchObject({
      status: 400,
      code: 'invalid_request',
      field: 'rounds.minReports',
    })
    expect(error.message).toBe('rounds.minReports: too many; name: empty')
  })

  it('takes only codes of the table, and SecAgg+ refusals are table codes with their status', () => {
    // @ts-expect-error a code outside the table does not compile (nor construct)
    expect(() => new PollenError('no_such_code', 'x')).toThrow()
    // @ts-expect-error Busy takes only the codes answered 429 or 503
    expect(new Busy('not_found', 'x', 1).status).toBe(404)
    for (const code of ['stage', 'unknown_participant', 'not_neighbour', 'invalid'] as const)
      expect(new SecAggError(code, 'id', 'x').status).toBe(ERROR_CODES[code].status)
  })

  it('holds every code that any source throws', () => {
    const thrown = new Set<string>()
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory()
          ? walk(join(dir, entry.name))
          : entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')
            ? [join(dir, entry.name)]
            : [],
      )
    for (const file of [...walk(join(root, 'server')), ...walk(join(root, 'shared'))]) {
      const text = readFileSync(file, 'utf8')
      for (const [, code] of text.matchAll(/new (?:PollenError|Busy|SecAggError)\(\s*'([^']+)'/g))
        thrown.add(code!)
    }
    expect(thrown.size).toBeGreaterThan(10)
    expect([...thrown].filter((code) => !isErrorCode(code))).toEqual([])
  })

  it("is docs/PROTOCOL.md's error table, row for row", () => {
    const doc = readFileSync(join(root, 'docs/PROTOCOL.md'), 'utf8')
    const start = doc.indexOf('| status | code')
    expect(start).toBeGreaterThan(0)
    const rows = doc
      .slice(start)
      .split('\n')
      .slice(2)
      .filter((_, i, lines) => lines.slice(0, i + 1).every((l) => l.startsWith('|')))
      .map((line) => {
        const [status, code, when] = line
          .split(/(?<!\\)\|/)
          .slice(1, -1)
          .map((cell) => cell.trim())
        return { code: code!.replaceAll('`', ''), status: Number(status), when }
      })
    expect(rows).toEqual(
      codes.map((code) => ({
        code,
        status: ERROR_CODES[code].status,
        when: ERROR_CODES[code].when,
      })),
    )
  })
})
