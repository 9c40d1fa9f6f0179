import type { z } from 'zod'
import { type ApiErrorBody, describeIssues } from '../protocol/errors.ts'
import { type CodeOf, errorStatus } from '../protocol/error-codes.ts'

/**
 * Why a SecAgg+ call was refused, as codes of the protocol's error table: 409 where the call does
 * not fit the round's state (`stage`: another stage's call; `unknown_participant`: never
 * advertised keys; `dropped`: missed an earlier stage; `duplicate`: did this already;
 * `threshold`: too few shares or participants to go on), 422 where the input itself is wrong
 * (`invalid`, `not_neighbour`).
 */
export type SecAggErrorCode = Extract<
  CodeOf<409 | 422>,
  | 'stage'
  | 'unknown_participant'
  | 'dropped'
  | 'duplicate'
  | 'threshold'
  | 'invalid'
  | 'not_neighbour'
>

export class SecAggError extends Error {
  override readonly name = 'SecAggError'
  readonly status: 409 | 422

  constructor(
    readonly code: SecAggErrorCode,
    /** The input field at fault, dot-separated as in API error bodies (`shares.2.to`). */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`)
    this.status = errorStatus(code)
  }

  /** The API error body the coordinator answers with. */
  toBody(): ApiErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        issues: [{ field: this.field, message: this.message }],
      },
    }
  }
}

export const stageError = (message: string) => new SecAggError('stage', 'stage', message)
export const invalid = (field: string, message: string) =>
  new SecAggError('invalid', field, message)

/** Parses a wire message, turning the first zod issue into a 422 naming its field. */
export function parseMessage<T>(schema: z.ZodType<T>, input: unknown, field = ''): T {
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const [issue] = describeIssues(parsed.error)
  const path = issue?.field === '(body)' ? '' : (issue?.field ?? '')
  throw invalid(
    [field, path].filter(Boolean).join('.') || '(body)',
    issue?.message ?? 'invalid message',
  )
}
