import { selectedPerRound } from '../../shared/protocol/index.ts'
import {
  type KeysMessage,
  type RevealMessage,
  SecAggError,
  type SecAggView,
  type SharesMessage,
} from '../../shared/secagg/index.ts'
import { viewOf } from '../../shared/secagg/server-view.ts'
import { PollenError } from '../errors.ts'
import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import { secureSettings } from '../rounds/secure-calls.ts'
import type { DeviceRecord } from '../store/index.ts'
import type { TaskCache } from './cache.ts'
import type { Ledger } from './ledger.ts'
import { NotBegun, type SecureBegin } from './secure-log.ts'
import { createMaskedUploads } from './secure-masked.ts'
import { createSecureOwner } from './secure-owner.ts'

/** SecAgg+'s refusals, and a round no device has begun, as API errors. */
async function answering<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof SecAggError) throw new PollenError(error.code, error.message, error.field)
    if (error instanceof NotBegun) throw new PollenError('not_found', error.message, 'round')
    throw error
  }
}

/**
 * Secure aggregation on replicas. A device's SecAgg+ calls go to whichever replica its load
 * balancer picks: each is one entry of the round's log (secure-log.ts), taken under the round's
 * lock, so every replica sees one round. A masked input is accepted like any update (spooled in
 * the same transaction as its collect entry) and summed modulo 2³² into the partial of the
 * replica that took it; the owner moves the stages on at their windows, merges the partials at
 * the close, and unmasks the sum once the survivors have revealed their shares.
 */
export function createClusterSecure(
  core: Core,
  { ledger, cache }: { ledger: Ledger; cache: TaskCache },
) {
  const secureLog = ledger.secure

  /** What every replica writes as the round's first entry: its settings, as this one sees them. */
  function beginOf(live: LiveTask, round: LiveRound): SecureBegin | null {
    const settings = secureSettings(live, round)
    if (!settings) return null
    return {
      ...settings,
      minSurvivors: Math.max(2, settings.minSurvivors),
      cap: selectedPerRound(round.settings),
    }
  }

  /** The task's open round `n`, if it has secure aggregation (read again if this replica is behind). */
  async function openRound(taskId: string, n: number) {
    let live = core.tasks.get(taskId)
    if (live?.open?.record.round !== n) live = await cache.refreshTask(taskId)
    if (!live?.record.spec.secureAggregation) return undefined
    const round = live.open?.record.round === n ? live.open : undefined
    return { live, round }
  }

  async function view(device: DeviceRecord, taskId: string, n: number): Promise<SecAggView> {
    return answering(async () => {
      const r = await secureLog.read(taskId, n)
      if (r) return viewOf(r.state, device.id)
      // No device has advertised yet: the open round waits for keys.
      if ((await openRound(taskId, n))?.round)
        return { stage: 'advertise', waiting: false, retryAfterSeconds: 1 }
      throw new NotBegun(taskId, n)
    })
  }

  async function keys(device: DeviceRecord, taskId: string, n: number, message: KeysMessage) {
    const open = await openRound(taskId, n)
    const assignment = open?.round
      ? await ledger.assignment({ taskId, round: n, deviceId: device.id })
      : undefined
    if (open?.round && assignment?.state !== 'assigned')
      throw new PollenError(
        'not_selected',
        `device ${device.id} was not selected in round ${n}, or has answered already`,
        'round',
      )
    const begin = open?.round ? beginOf(open.live, open.round) : null
    await answering(() =>
      secureLog.write(taskId, n, begin, (w) => {
        w.apply({ call: 'advertise', device: device.id, body: message })
        // Every device the round may select has advertised: sharing starts at once.
        if (w.round.state.participants.size >= w.round.begin.cap) w.closeAdvertise()
      }),
    )
  }

  const shares = (device: DeviceRecord, taskId: string, n: number, message: SharesMessage) =>
    answering(() =>
      secureLog.write(taskId, n, null, (w) =>
        w.apply({ call: 'share', device: device.id, body: message }),
      ),
    )

  const reveal = (device: DeviceRecord, taskId: string, n: number, message: RevealMessage) =>
    answering(() =>
      secureLog.write(taskId, n, null, (w) =>
        w.apply({ call: 'reveal', device: device.id, body: message }),
      ),
    )

  /** Whether a round still takes devices (its participants are not fixed yet). */
  async function selecting(live: LiveTask, round: LiveRound): Promise<boolean> {
    if (!live.record.spec.secureAggregation) return true
    const r = await secureLog.read(live.record.id, round.record.round)
    return !r || r.state.stage === 'advertise'
  }

  /** A selected device may be given its assignment again only before it advertised keys. */
  async function mayRejoin(live: LiveTask, round: LiveRound, deviceId: string) {
    if (!live.record.spec.secureAggregation) return true
    const r = await secureLog.read(live.record.id, round.record.round)
    return !r || (r.state.stage === 'advertise' && !r.state.participants.has(deviceId))
  }

  return {
    view,
    keys,
    shares,
    reveal,
    selecting,
    mayRejoin,
    ...createMaskedUploads(secureLog),
    ...createSecureOwner(core, { secureLog, beginOf }),
    forget: (taskId: string, n: number) => secureLog.forget(taskId, n),
  }
}

export type ClusterSecure = ReturnType<typeof createClusterSecure>
