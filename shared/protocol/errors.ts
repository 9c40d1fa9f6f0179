import type { z } from 'zod'
import type { ErrorCode } from './error-codes.ts'

/** Every API error body: a code of the error table, a sentence, and the fields that were wrong. */
export interface ApiErrorBody {
  error: {
    code: ErrorCode
    message: string
    issues?: ErrorIssue[]
  }
}

/**
 * One thing wrong: the field, and for an uploaded file (a held-out set) the file, the entry of
 * an archive and the row of a CSV (1-based, as a spreadsheet numbers it) where there is one.
 */
export interface ErrorIssue {
  field: string
  message: string
  file?: string
  entry?: string
  row?: number
}

type Issue = z.core.$ZodIssue

/** Flattens zod issues to `field: message` pairs, naming unknown keys themselves. */
export function describeIssues(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.flatMap((issue) => describe(issue, []))
}

function describe(issue: Issue, base: PropertyKey[]): { field: string; message: string }[] {
  const path = [...base, ...issue.path]
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => ({ field: fieldName([...path, key]), message: 'unknown field' }))
  let message = issue.message
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // zod says only "Invalid input" of a union. The one alternative that got past the type
    // check (an object, where the others are true or null) says which field inside is wrong.
    const inside = issue.errors.filter(
      (branch) =>
        branch.length > 0 &&
        branch.every((i) => i.path.length > 0 || i.code === 'unrecognized_keys'),
    )
    if (inside.length === 1) return inside[0]!.flatMap((i) => describe(i, path))
    message = `Invalid input: ${alternatives(issue.errors.flat())}`
  }
  return [{ field: fieldName(path) || '(body)', message }]
}

/** What a union would have taken: "expected boolean | null | object, received string". */
function alternatives(issues: Issue[]): string {
  const types = issues.flatMap((i) => (i.code === 'invalid_type' ? [i.expected] : []))
  const received = /received (\w+)$/.exec(
    issues.find((i) => i.code === 'invalid_type')?.message ?? '',
  )
  const others = issues.filter((i) => i.code !== 'invalid_type').map((i) => i.message)
  const parts = [
    ...(types.length > 0
      ? [
          `expected ${[...new Set(types)].join(' | ')}${received ? `, received ${received[1]}` : ''}`,
        ]
      : []),
    ...new Set(others),
  ]
  return parts.join('; or ')
}

/**
 * A path as API error bodies spell fields: `rounds.minReports`, `datasets.0.name`. A key that
 * is empty or holds a dot is quoted (`""`, `"a.b"`), so that every key has a name to show.
 */
export function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((key) => {
      const name = String(key)
      return name === '' || name.includes('.') ? JSON.stringify(name) : name
    })
    .join('.')
}
