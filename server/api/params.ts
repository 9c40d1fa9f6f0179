import type { Context } from 'hono'
import { PollenError } from '../errors.ts'

/**
 * A canonical decimal integer: digits only, no sign, exponent, fraction or leading zero, at most
 * 16 digits. `1e0`, `01`, `+1` and `1.0` all read as 1 to `Number`: a path names one thing once.
 */
const CANONICAL = /^(0|[1-9][0-9]{0,15})$/

/** `text` as an integer of at least `min`, else a 400 naming `field`. */
export function canonicalInteger(text: string | undefined, field: string, min = 1): number {
  const value = text !== undefined && CANONICAL.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(value) || value < min)
    throw new PollenError(
      400,
      'invalid_request',
      `${field} must be an integer of at least ${min} written in digits (${min}, ${min + 1}, …), ` +
        `not ${JSON.stringify((text ?? '').slice(0, 40))}`,
      field,
    )
  return value
}

/** A numeric path parameter (`round`), parsed by `canonicalInteger`. */
export const pathInteger = (c: Context, name: string, min = 1): number =>
  canonicalInteger(c.req.param(name), name, min)
