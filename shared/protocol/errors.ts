import type { z } from 'zod'

/** Every API error body: a code, a sentence, and the fields that were wrong. */
export interface ApiErrorBody {
  error: {
    code: string
    message: string
    issues?: { field: string; message: string }[]
  }
}

/** Flattens zod issues to `field: message` pairs, naming unknown keys themselves. */
export function describeIssues(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String)
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({
        field: [...base, key].join('.'),
        message: 'unknown field',
      }))
    return [{ field: base.join('.') || '(body)', message: issue.message }]
  })
}
