import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { z } from 'zod'
import { describeIssues, type ApiErrorBody } from '../../shared/protocol/index.ts'
import { PollenError } from '../errors.ts'
import { findBadText } from './text.ts'

/**
 * Parses a JSON body against a schema; every failure names the field. Text the store cannot hold
 * (NUL, unpaired surrogates) is refused anywhere in the body, named by its path.
 */
export async function parseJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/json\b/i.test(type))
    throw new PollenError(
      415,
      'unsupported_media_type',
      'send the body as application/json',
      'content-type',
    )
  let body: unknown
  try {
    body = await c.req.json()
  } catch {
    throw new PollenError(400, 'malformed_json', 'the body is not valid JSON', '(body)')
  }
  // Before the schema, so no handler ever sees a string the store would refuse mid-request.
  const bad = findBadText(body)
  if (bad) throw new PollenError(400, 'invalid_request', `${bad.field}: ${bad.message}`, bad.field)
  const parsed = schema.safeParse(body)
  if (!parsed.success) {
    const issues = describeIssues(parsed.error)
    throw Object.assign(
      new PollenError(
        400,
        'invalid_request',
        issues.map((i) => `${i.field}: ${i.message}`).join('; '),
        issues[0]?.field,
      ),
      { issues },
    )
  }
  return parsed.data
}

/**
 * Not now: a 429 (this client sends too much) or 503 (the coordinator is busy), answered with
 * Retry-After so a device comes back later instead of at once.
 */
export class Busy extends PollenError {
  constructor(
    status: 429 | 503,
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(status, code, message)
  }
}

export function errorBody(error: PollenError): ApiErrorBody {
  const issues = (error as PollenError & { issues?: ApiErrorBody['error']['issues'] }).issues
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(issues
        ? { issues }
        : error.field
          ? { issues: [{ field: error.field, message: error.message }] }
          : {}),
    },
  }
}

export function onError(log: (message: string) => void) {
  return (error: Error, c: Context) => {
    if (error instanceof Busy) c.header('Retry-After', String(Math.ceil(error.retryAfterSeconds)))
    // The body was not read to its end: this connection carries no further request.
    if (error instanceof PollenError && error.status === 408) c.header('Connection', 'close')
    if (error instanceof PollenError) return c.json(errorBody(error), error.status)
    if (error instanceof HTTPException) {
      const status = error.status
      const code =
        status === 413 ? 'payload_too_large' : status === 401 ? 'unauthorized' : 'http_error'
      const message =
        status === 413 ? 'the body is larger than this endpoint accepts' : error.message
      return c.json({ error: { code, message } } satisfies ApiErrorBody, status)
    }
    log(`unexpected error on ${c.req.method} ${c.req.path}: ${error.stack ?? String(error)}`)
    return c.json(
      { error: { code: 'internal', message: 'internal error' } } satisfies ApiErrorBody,
      500,
    )
  }
}
