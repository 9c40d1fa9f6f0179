import type { Context } from 'hono'
import { PollenError } from '../errors.ts'

/**
 * A canonical decimal integer: digits only, no sign, exponent, fraction or leading zero, at most
 * 16 digits. `1e0`, `01`, `+1` and `1.0` all read as 1 to `Number`: a path names one thing once.
 */
const CANONICAL = /^(0|[1-9][0-9]{0,15})$/

/** The largest round number a path may name: more rounds than any task opens. */
export const MAX_ROUND = 999_999_999

/** `text` as an integer from `min` to `max`, else a 400 naming `field`. */
export function canonicalInteger(
  text: string | undefined,
  field: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = text !== undefined && CANONICAL.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new PollenError(
      'invalid_request',
      `${field} must be an integer from ${min} to ${max} written in digits (${min}, ${min + 1}, …), ` +
        `not ${JSON.stringify((text ?? '').slice(0, 40))}`,
      field,
    )
  return value
}

/** A round number in a path, parsed by `canonicalInteger`: 1 to MAX_ROUND. */
export const roundParam = (c: Context): number =>
  canonicalInteger(c.req.param('round'), 'round', 1, MAX_ROUND)
