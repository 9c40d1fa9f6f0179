import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { z } from 'zod'
import {
  type ApiErrorBody,
  type CodeOf,
  describeIssues,
  errorStatus,
} from '../../shared/protocol/index.ts'
import { invalidRequest, PollenError } from '../errors.ts'
import { findBadText } from './text.ts'

/**
 * Parses a JSON body against a schema; every failure names the field. Text the store cannot hold
 * (NUL, unpaired surrogates) is refused anywhere in the body, named by its path.
 */
export async function parseJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/json\b/i.test(type))
    throw new PollenError(
      'unsupported_media_type',
      'send the body as application/json',
      'content-type',
    )
  let body: unknown
  try {
    body = await c.req.json()
  } catch {
    throw new PollenError('malformed_json', 'the body is not valid JSON', '(body)')
  }
  // Before the schema, so no handler ever sees a string the store would refuse mid-request.
  const bad = findBadText(body)
  if (bad) throw new PollenError('invalid_request', `${bad.field}: ${bad.message}`, bad.field)
  const parsed = schema.safeParse(body)
  if (!parsed.success) throw invalidRequest(describeIssues(parsed.error))
  return parsed.data
}

/**
 * Not now: a 429 (this client sends too much) or 503 (the coordinator is busy), answered with
 * Retry-After so a device comes back later instead of at once.
 */
export class Busy extends PollenError {
  constructor(
    code: CodeOf<429 | 503>,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message)
  }
}

export function errorBody(error: PollenError): ApiErrorBody {
  const { issues } = error
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

/** HTTP errors the framework itself may raise, by their status: the table's code for each. */
const FRAMEWORK_ERRORS = {
  401: { code: 'unauthorized' },
  413: { code: 'payload_too_large', message: 'the body is larger than this endpoint accepts' },
} as const

/**
 * The one place an error becomes an answer: its status is its code's in the protocol's table.
 * Anything else is a fault of the coordinator, logged and answered 500 `internal`.
 */
export function onError(log: (message: string) => void) {
  return (error: Error, c: Context) => {
    if (error instanceof Busy) c.header('Retry-After', String(Math.ceil(error.retryAfterSeconds)))
    // The body was not read to its end: this connection carries no further request.
    if (error instanceof PollenError && error.code === 'body_timeout')
      c.header('Connection', 'close')
    if (error instanceof PollenError) return c.json(errorBody(error), errorStatus(error.code))
    const framework =
      error instanceof HTTPException && Object.hasOwn(FRAMEWORK_ERRORS, error.status)
        ? FRAMEWORK_ERRORS[error.status as keyof typeof FRAMEWORK_ERRORS]
        : undefined
    if (framework) {
      const message = 'message' in framework ? framework.message : error.message
      return c.json(
        { error: { code: framework.code, message } } satisfies ApiErrorBody,
        errorStatus(framework.code),
      )
    }
    log(`unexpected error on ${c.req.method} ${c.req.path}: ${error.stack ?? String(error)}`)
    return c.json(
      { error: { code: 'internal', message: 'internal error' } } satisfies ApiErrorBody,
      errorStatus('internal'),
    )
  }
}
