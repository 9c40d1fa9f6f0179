// What the phone's network says, for the upload codec's pick (client/device/codec-choice.ts):
// NetworkInformation's `saveData`, `effectiveType` and `type`, read at each round.
import type { NetworkSignals } from '../../device/codec-choice.ts'

interface ConnectionLike {
  saveData?: unknown
  effectiveType?: unknown
  type?: unknown
}

/** The signals `navigator.connection` gives (Chromium); undefined where the API is missing. */
export function readNetwork(
  navigator: { connection?: ConnectionLike } | undefined = globalThis.navigator as
    { connection?: ConnectionLike } | undefined,
): NetworkSignals | undefined {
  const connection = navigator?.connection
  if (!connection) return undefined
  const { saveData, effectiveType, type } = connection
  return {
    ...(typeof saveData === 'boolean' ? { saveData } : {}),
    ...(typeof effectiveType === 'string' ? { effectiveType } : {}),
    ...(typeof type === 'string' ? { type } : {}),
  }
}
