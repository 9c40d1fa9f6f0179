// What every part of the topology check shares: its one error, and the guards and formatting its
// messages are built from.

/** A topology refused by the check; the message names the layer and says what was wrong. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError'
}

export function fail(why: string): never {
  throw new TopologyError(why)
}

export function onlyKeys(
  object: Record<string, unknown>,
  keys: readonly string[],
  what: string,
): void {
  for (const key of Object.keys(object))
    if (!keys.includes(key))
      fail(`${what}: unknown key '${key.slice(0, 40)}' (expected ${keys.join(', ')})`)
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

export const isInt = (v: unknown): v is number => Number.isSafeInteger(v)

/** A dimension: a safe integer (a budget bounds it further). */
export const isDim = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

export const fmt = (n: number): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US') : String(n)

export const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'string'
        ? `'${v.slice(0, 40)}'`
        : typeof v

/** A value in a message, cut short: the topology is the admin's, but it may be huge. */
export function short(v: unknown): string {
  let text: string
  try {
    text = JSON.stringify(v) ?? String(v)
  } catch {
    text = String(v)
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}
