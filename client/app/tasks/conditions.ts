import type { Capabilities } from '../../../shared/protocol/index.ts'
import type { TrainingConditions } from '../storage/index.ts'

/** What the browser tells about the phone right now; `null`: it does not say. */
export interface ConditionSignals {
  charging: boolean | null
  unmetered: boolean | null
  visible: boolean
}

/** The signals, read on demand, with a callback when any of them changes. */
export interface ConditionSource {
  read(): ConditionSignals
  /** Calls `listener` whenever a signal changes; returns the unsubscribe. */
  subscribe(listener: () => void): () => void
}

export const NO_CONDITIONS: TrainingConditions = {
  onlyWhileCharging: false,
  onlyOnUnmeteredNetwork: false,
  onlyWhileVisible: false,
}

/** The owner's conditions, in the order shown, with what to say about each. */
export const CONDITIONS = [
  {
    key: 'onlyWhileCharging',
    label: 'Only while charging',
    signal: 'charging',
    unmet: 'the phone is not charging',
    unsupported:
      'This browser does not say whether the phone is charging (no Battery Status API), so ' +
      'Pollen cannot apply this condition here.',
  },
  {
    key: 'onlyOnUnmeteredNetwork',
    label: 'Only on an unmetered network (Wi-Fi)',
    signal: 'unmetered',
    unmet: 'the network may be metered',
    unsupported:
      'This browser does not say what kind of network the phone is on (no Network Information ' +
      'type), so Pollen cannot apply this condition here.',
  },
  {
    key: 'onlyWhileVisible',
    label: 'Only while Pollen is on screen',
    signal: 'visible',
    unmet: 'Pollen is not on screen',
    unsupported: 'This browser does not say whether the page is visible.',
  },
] as const satisfies readonly {
  key: keyof TrainingConditions
  label: string
  signal: keyof ConditionSignals
  unmet: string
  unsupported: string
}[]

/** Why the conditions do not hold now (empty: they hold). A signal the browser lacks is skipped. */
export function unmetConditions(
  conditions: TrainingConditions,
  signals: ConditionSignals,
): string[] {
  return CONDITIONS.filter((c) => conditions[c.key] && signals[c.signal] === false).map(
    (c) => c.unmet,
  )
}

interface BatteryLike extends EventTarget {
  charging: boolean
}
interface ConnectionLike extends EventTarget {
  type?: string | undefined
  saveData?: boolean | undefined
}
interface NavigatorSignals {
  getBattery?: () => Promise<BatteryLike>
  connection?: ConnectionLike
}

const UNMETERED = new Set(['wifi', 'ethernet'])
const METERED = new Set(['cellular', 'wimax', 'bluetooth'])

/** Unmetered from the Network Information API's `type`, where the browser gives one. */
export function networkUnmetered(connection: ConnectionLike | undefined): boolean | null {
  if (!connection) return null
  if (connection.saveData) return false
  const type = connection.type
  if (type && UNMETERED.has(type)) return true
  if (type && METERED.has(type)) return false
  return null
}

/**
 * Watches the signals the browser exposes: Battery Status (`navigator.getBattery`), Network
 * Information (`navigator.connection.type`), Page Visibility. Missing APIs read as `null`.
 */
export async function watchConditions({
  navigator = globalThis.navigator,
  document = globalThis.document,
}: {
  navigator?: Navigator & NavigatorSignals
  document?: Document
} = {}): Promise<ConditionSource> {
  const listeners = new Set<() => void>()
  const changed = () => listeners.forEach((listener) => listener())
  let battery: BatteryLike | null = null
  try {
    battery = (await navigator.getBattery?.()) ?? null
  } catch {
    battery = null
  }
  battery?.addEventListener('chargingchange', changed)
  const connection = navigator.connection
  connection?.addEventListener('change', changed)
  document.addEventListener('visibilitychange', changed)
  return {
    read: () => ({
      charging: battery ? battery.charging : null,
      unmetered: networkUnmetered(connection),
      visible: document.visibilityState === 'visible',
    }),
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

/**
 * What the phone tells the coordinator at check-in for tasks' eligibility rules: whether it
 * charges and what network it is on (when the browser says), and its memory (`deviceMemory`,
 * in GB, rounded by the browser: Chromium only).
 */
export function deviceState(
  signals: ConditionSignals,
  deviceMemoryGB = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory,
): Pick<Capabilities, 'charging' | 'network' | 'memoryMB'> {
  return {
    ...(signals.charging !== null ? { charging: signals.charging } : {}),
    network: signals.unmetered === null ? 'unknown' : signals.unmetered ? 'unmetered' : 'metered',
    ...(deviceMemoryGB !== undefined && deviceMemoryGB > 0
      ? { memoryMB: deviceMemoryGB * 1024 }
      : {}),
  }
}
