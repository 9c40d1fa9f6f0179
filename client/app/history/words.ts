// History's words for bytes moved: what was sent and what came down each say their encoding
// beside their size, so neither reads as the other's ("Encoding" on a line of its own did not
// say whose it was).
import type { Codec } from '../../../shared/tensors/index.ts'
import type { RoundDownload } from '../storage/index.ts'
import { formatBytes } from '../tasks/format.ts'

/** "26 kB, bbit1": an update's size and its codec (a secure round's masked sum has none). */
export const sentWords = (bytes: number, codec: Codec | undefined): string =>
  codec ? `${formatBytes(bytes)}, ${codec}` : formatBytes(bytes)

/** "203 kB, delta"; "nothing (held)" where the model was already on the phone; null: not counted. */
export const downloadedWords = ({ bytesDown, downloadEncoding }: RoundDownload): string | null =>
  bytesDown === undefined
    ? null
    : downloadEncoding
      ? `${formatBytes(bytesDown)}, ${downloadEncoding}`
      : 'nothing (held)'

/** The summary's totals: updates sent always, models downloaded where any round counted them. */
export function totalsWords(rounds: readonly (RoundDownload & { bytesSent: number })[]): string {
  const sent = rounds.reduce((a, r) => a + r.bytesSent, 0)
  const counted = rounds.filter((r) => r.bytesDown !== undefined)
  const down = counted.reduce((a, r) => a + (r.bytesDown ?? 0), 0)
  const downloaded = counted.length === 0 ? '' : `; ${formatBytes(down)} of models downloaded`
  return `${formatBytes(sent)} of weight updates sent, no examples${downloaded}.`
}
