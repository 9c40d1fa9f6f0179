import {
  type ApiErrorBody,
  type ErrorCode,
  errorStatus,
  type ErrorStatus,
} from '../shared/protocol/index.ts'

type Issues = NonNullable<ApiErrorBody['error']['issues']>

/**
 * An error the API turns into a JSON answer: a code from the protocol's table (which fixes its
 * HTTP status), a sentence, and the field at fault (or every field, for a body that fails its
 * schema).
 */
export class PollenError extends Error {
  readonly status: ErrorStatus

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly issues?: Issues,
  ) {
    super(message)
    this.name = 'PollenError'
    this.status = errorStatus(code)
  }
}

/** A body (or a task as a PATCH would leave it) that fails its schema: every issue, named. */
export const invalidRequest = (issues: Issues) =>
  new PollenError(
    'invalid_request',
    issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    issues[0]?.field,
    issues,
  )
