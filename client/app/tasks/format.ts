// Numbers and times as the phone's owner reads them. Apart from describe.ts: the page's first
// bundle (History) needs only these.

/** "797 kB": the size of what leaves the phone, in the units people read. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`
  if (bytes < 1e6) return `${Math.round(bytes / 1000).toLocaleString('en')} kB`
  return `${(bytes / 1e6).toLocaleString('en', { maximumFractionDigits: 1 })} MB`
}

/** "91.2%": a held-out accuracy (0 to 1). */
export const formatAccuracy = (accuracy: number): string =>
  `${(100 * accuracy).toLocaleString('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 })}%`

/** "1 Dec 2026, 21:40": when something happened, in the phone's own time zone. */
export const formatWhen = (iso: string): string =>
  new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })
