import type { Core } from '../rounds/live.ts'
import { withRound } from '../rounds/submission.ts'
import type { DeviceRecord } from '../store/index.ts'
import type { Ledger } from './ledger.ts'

/** Model downloads on any replica: counted in the open round whose base model it is. */
export function createClusterDownloads(core: Core, ledger: Ledger) {
  const { clock, events, log } = core
  /**
   * A device downloaded model `hash`: `bytes` as sent (in `encoding`, counted by encoding too)
   * counted in the open round whose base it is, if assigned.
   */
  function downloaded(
    device: DeviceRecord,
    hash: string,
    bytes: number,
    encoding = 'float32',
  ): void {
    const rounds = [...core.tasks.values()].flatMap((live) =>
      live.open && live.open.record.baseModel === hash ? [{ live, round: live.open }] : [],
    )
    void Promise.all(
      rounds.map(async ({ live, round }) => {
        const key = { taskId: live.record.id, round: round.record.round, deviceId: device.id }
        return (await ledger.downloaded({ key, now: clock.now(), bytes, encoding }))
          ? key
          : undefined
      }),
    ).then(
      (keys) => {
        const counted = keys.filter((k) => k !== undefined)
        for (const key of counted)
          events.publish({
            type: 'device.state',
            deviceId: device.id,
            state: 'downloaded',
            ...withRound(key),
          })
        if (counted.length === 0)
          events.publish({ type: 'device.state', deviceId: device.id, state: 'downloaded' })
      },
      (error: unknown) => log(`download of ${hash} by ${device.id} not counted: ${String(error)}`),
    )
  }

  return downloaded
}
