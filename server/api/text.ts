import type { MiddlewareHandler } from 'hono'
import { PollenError } from '../errors.ts'

/**
 * Text the store cannot hold: PostgreSQL refuses U+0000 in text and JSON, and an unpaired UTF-16
 * surrogate is no Unicode at all (it cannot be encoded as UTF-8). Such a string would pass the
 * schemas and fail only at the write, mid-request, after the scheduler had acted on it.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** What is wrong with `text`, or undefined when it can be stored. */
export function badText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (U+0000)'
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode)'
  return undefined
}

/** A key as a field name can show it: bad characters escaped. */
const shown = (key: string) => (badText(key) ? JSON.stringify(key).slice(1, -1) : key)

/** An object or array met while walking a body, and how it was reached. */
interface Step {
  node: object
  key: string
  parent: Step | undefined
}

/** The path to `key` under `parent`, built only for the one bad string reported. */
const pathOf = (key: string, parent: Step | undefined): string => {
  const keys = parent ? [key] : []
  for (let s = parent; s?.parent; s = s.parent) keys.push(s.key)
  return keys.reverse().join('.') || '(body)'
}

/**
 * A string (or object key) in a parsed JSON value that `badText` refuses, with its path
 * (`capabilities.userAgent`, `datasets.0.name`). Iterative and linear: a deeply nested body can
 * neither overflow the stack nor cost more than its size.
 */
export function findBadText(value: unknown): { field: string; message: string } | undefined {
  const stack: Step[] = []
  const check = (node: unknown, key: string | number, parent: Step | undefined) => {
    if (typeof node === 'string') {
      const problem = badText(node)
      if (problem) return { field: pathOf(String(key), parent), message: problem }
    } else if (node !== null && typeof node === 'object')
      stack.push({ node, key: String(key), parent })
    return undefined
  }
  let found = check(value, '', undefined)
  while (!found && stack.length > 0) {
    const step = stack.pop()!
    if (Array.isArray(step.node))
      for (let i = 0; i < step.node.length && !found; i++) found = check(step.node[i], i, step)
    else
      for (const [key, child] of Object.entries(step.node)) {
        const problem = badText(key)
        if (problem) return { field: pathOf(shown(key), step), message: `its name ${problem}` }
        found = check(child, key, step)
        if (found) break
      }
  }
  return found
}

/** `text` percent-decoded, or undefined when its escapes are not UTF-8. */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/**
 * Refuses a request whose path or query carries text the store cannot hold (or escapes that are
 * not UTF-8), before any route acts on it: a 400 naming `(path)` or the query parameter.
 */
export const refuseBadUrlText: MiddlewareHandler = async (c, next) => {
  const url = new URL(c.req.url)
  const path = decoded(url.pathname)
  const pathProblem = path === undefined ? 'is not valid percent-encoded UTF-8' : badText(path)
  if (pathProblem) throw new PollenError('invalid_request', `the path ${pathProblem}`, '(path)')
  for (const part of url.search.slice(1).split('&')) {
    if (part === '') continue
    const at = part.includes('=') ? part.indexOf('=') : part.length
    const [rawKey, rawValue] = [part.slice(0, at), part.slice(at + 1)]
    const key = decoded(rawKey.replaceAll('+', ' '))
    const value = decoded(rawValue.replaceAll('+', ' '))
    const field = key !== undefined && !badText(key) ? key : '(query)'
    const problem =
      key === undefined || value === undefined
        ? 'is not valid percent-encoded UTF-8'
        : (badText(key) ?? badText(value))
    if (problem)
      throw new PollenError('invalid_request', `the query parameter ${field} ${problem}`, field)
  }
  await next()
}
