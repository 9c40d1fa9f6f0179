// Numbers and times as the dashboard shows them.

export const count = (n: number) => n.toLocaleString('en')

export const percent = (fraction: number) => `${Math.round(fraction * 100)}%`

/** A fraction as a percentage to a tenth ("91.3%"), a dash for none. */
export const fraction = (v: number | null | undefined) =>
  v == null ? '–' : `${(v * 100).toFixed(1)}%`

/** Bytes in B, KiB, MiB or GiB, one decimal above bytes. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** Seconds after a reference time, as "+12.3 s" (a device's step within its round). */
export const offset = (ms: number) => `+${(ms / 1000).toFixed(1)} s`

export const clock = (ms: number) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false })
