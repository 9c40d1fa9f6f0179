import type { z } from 'zod'
import { type ApiErrorBody, describeIssues } from '../protocol/errors.ts'

/**
 * Why a SecAgg+ call was refused. 409: the call does not fit the round's state (wrong stage, a
 * participant that dropped or repeats itself, too few shares); 422: the input itself is wrong.
 */
export const SECAGG_ERROR_STATUS = {
  /** The call belongs to another stage of the round (or of the client). */
  stage: 409,
  /** The participant never advertised keys in this round. */
  'unknown-participant': 409,
  /** The participant missed an earlier stage and is no longer part of the round. */
  dropped: 409,
  /** The participant already did this. */
  duplicate: 409,
  /** Too few shares or participants to go on without leaking or failing. */
  threshold: 409,
  /** Malformed input: the field says which. */
  invalid: 422,
  /** A ciphertext or share addressed to or about someone who is not a neighbour. */
  'not-neighbour': 422,
} as const
export type SecAggErrorCode = keyof typeof SECAGG_ERROR_STATUS

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
    this.status = SECAGG_ERROR_STATUS[code]
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
