// The phone's link to the coordinator: its enrolment (stored, made, or forgotten when refused),
// the tasks the coordinator offers, and the device runtime for a pass of the loop.
import type { DeviceTaskView, TaskStatus } from '../../../shared/protocol/index.ts'
import { isEnded } from '../../../shared/protocol/ended.ts'
import { ProtocolError } from '../../device/http.ts'
import { createDevice, type Device, type DeviceOptions } from '../../device/runtime.ts'
import type { Trainer } from '../../device/trainer.ts'
import { refreshPrivacy } from '../privacy/ledger.ts'
import type { PollenDatabase } from '../storage/index.ts'
import { clearEnrolment, type Enrolment, loadEnrolment, saveEnrolment } from './enrolment.ts'

export interface LinkOptions {
  db: PollenDatabase
  /** The coordinator's base URL (the page's origin). */
  server: string
  fetch: typeof globalThis.fetch
  now: () => number
}

export type DeviceParts = Omit<DeviceOptions, 'server' | 'fetch' | 'enrolment'>

export function createLink({ db, server, fetch, now }: LinkOptions) {
  /** The statuses of the tasks the coordinator last listed; null until it was asked. */
  let listed: Map<string, TaskStatus> | null = null
  const device = (parts: DeviceParts, enrolment?: Enrolment): Device =>
    createDevice({ server, fetch, ...parts, ...(enrolment ? { enrolment } : {}) })
  /** Enough of a device to enrol and to list tasks: it trains nothing. */
  const talker = (enrolment?: Enrolment) =>
    device({ trainer: NO_TRAINER, examples: EMPTY, backend: 'cpu' }, enrolment)

  async function enrolment(): Promise<Enrolment> {
    const stored = await loadEnrolment(db)
    if (stored) return stored
    const answer = await talker().enrol()
    const fresh = { deviceId: answer.deviceId, token: answer.token }
    await saveEnrolment(db, fresh, now())
    return fresh
  }

  /**
   * The tasks the coordinator offers, for the owner to weigh (enrols first if needed). The
   * privacy ledger takes their latest terms (ε spent); a ledger that cannot be written does not
   * keep the list from the screen.
   */
  async function tasks(): Promise<DeviceTaskView[]> {
    const enrolled = talker(await enrolment())
    try {
      const offered = await enrolled.tasks()
      listed = new Map(offered.map((t) => [t.id, t.status]))
      await refreshPrivacy(db, offered, now()).catch((error: unknown) =>
        console.warn('Pollen: the privacy ledger was not updated:', error),
      )
      return offered
    } catch (error) {
      if (error instanceof ProtocolError && error.status === 401) {
        await clearEnrolment(db)
        return tasks()
      }
      throw error
    }
  }

  return {
    enrolment,
    tasks,
    /** A task that the coordinator's last list says ended, or no longer has (removed). */
    over: (taskId: string): boolean => {
      if (!listed) return false
      const status = listed.get(taskId)
      return status === undefined || isEnded(status)
    },
    /** The device runtime for a pass of the loop, enrolled. */
    async device(parts: DeviceParts): Promise<Device> {
      return device(parts, await enrolment())
    },
  }
}

export type Link = ReturnType<typeof createLink>

const EMPTY = { count: 0, shape: [1], features: new Uint8Array(0), labels: new Uint8Array(0) }
const NO_TRAINER: Trainer = {
  train: () => Promise.reject(new Error('no trainer yet')),
}
