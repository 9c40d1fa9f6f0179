// The bounds every codec checks its arguments against, and the one error they throw: a RangeError
// whose message starts with the parameter at fault, as API error bodies name a field.

/** The most entries one tensor may hold: 2²⁷ (512 MiB as float32), far above any preset model. */
export const MAX_ENTRIES = 2 ** 27

export const codecError = (parameter: string, message: string) =>
  new RangeError(`${parameter}: ${message}`)

/** Refuses anything but a whole number in [min, max]. */
export function checkInteger(value: number, parameter: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw codecError(parameter, `must be a whole number in [${min}, ${max}], got ${value}`)
}

/** Refuses a length over MAX_ENTRIES. */
export const checkLength = (length: number, parameter: string): void =>
  checkInteger(length, parameter, 0, MAX_ENTRIES)

/** Refuses anything but a seed a frame can carry: a uint32. */
export const checkSeed = (seed: number, parameter = 'seed'): void =>
  checkInteger(seed, parameter, 0, 2 ** 32 - 1)
