import { type DeviceSetting, type PollenDatabase, STORES } from '../storage/index.ts'

export interface Enrolment {
  deviceId: string
  token: string
}

/** The enrolment this install got from the coordinator, if it has one. */
export async function loadEnrolment(db: PollenDatabase): Promise<Enrolment | undefined> {
  const setting = await db.get(STORES.settings, 'device')
  return setting?.key === 'device'
    ? { deviceId: setting.deviceId, token: setting.token }
    : undefined
}

export async function saveEnrolment(
  db: PollenDatabase,
  enrolment: Enrolment,
  now = Date.now(),
): Promise<void> {
  const setting: DeviceSetting = { key: 'device', ...enrolment, enrolledAt: now }
  await db.put(STORES.settings, setting)
}

/** Forgets an enrolment the coordinator no longer knows (its token is refused). */
export async function clearEnrolment(db: PollenDatabase): Promise<void> {
  await db.delete(STORES.settings, 'device')
}
