// The phone's pick of a model download encoding from its network, within what the task serves:
// the same network reading as the upload codec's pick (codec-choice.ts), as a pure policy.
import type { DownloadEncoding } from '../../shared/protocol/index.ts'
import { networkNeed, type NetworkSignals } from './codec-choice.ts'
import type { ChooseEncoding } from './models.ts'

/**
 * The served encodings from the fewest bytes to the most: a delta (about 1 byte an entry, from
 * the base held; none held, the model source asks float16 instead), float16 (2), float32 (4).
 */
const SMALLEST_FIRST: readonly DownloadEncoding[] = ['delta', 'float16', 'float32']

/**
 * The encoding to ask a model in, from the task's served list (in its order of preference) and
 * the network: saving data, on 2g or metered, the smallest served; otherwise the task's first,
 * as for uploads (a task that wants deltas on every network lists `delta` first). Float32 for an
 * empty list.
 */
export function chooseDownload(
  served: readonly DownloadEncoding[],
  network?: NetworkSignals,
): DownloadEncoding {
  if (networkNeed(network) !== 'smallest') return served[0] ?? 'float32'
  return SMALLEST_FIRST.find((encoding) => served.includes(encoding)) ?? 'float32'
}

/** A download choice for a device that reads its network at each model it asks for. */
export const networkDownload =
  (read: () => NetworkSignals | undefined): ChooseEncoding =>
  (served) =>
    chooseDownload(served, read())
