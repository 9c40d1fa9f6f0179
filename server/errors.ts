/** An error the API turns into a JSON answer: HTTP status, a code, a sentence, and the field. */
export class PollenError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 408 | 409 | 413 | 415 | 422 | 429 | 500 | 503,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message)
    this.name = 'PollenError'
  }
}
