// This browser as a device of one coordinator: enrolled once, its token kept in IndexedDB, and
// enrolled afresh when the coordinator no longer knows the token (its store was reset).
import { PROTOCOL_VERSION, type EnrolAnswer } from '../../shared/protocol/index.ts'
import { createDeviceHttp, ProtocolError, type DeviceHttp } from '../device/http.ts'
import {
  clearEnrolment,
  loadEnrolment,
  saveEnrolment,
  type EmbedDatabase,
  type Enrolment,
} from './store.ts'

export interface DeviceSession {
  /** The stored enrolment, or a new one. */
  enrol(): Promise<Enrolment>
  /** Forgets the enrolment (the coordinator refused its token). */
  forget(): Promise<void>
  /** A device call; a token the coordinator no longer knows is replaced once. */
  call<T>(request: (http: DeviceHttp) => Promise<T>): Promise<T>
}

export async function deviceSession(options: {
  coordinator: string
  db: EmbedDatabase
  label?: string | undefined
  fetch?: typeof globalThis.fetch | undefined
}): Promise<DeviceSession> {
  const { coordinator, db } = options
  let enrolment = await loadEnrolment(db, coordinator)
  const http = createDeviceHttp({
    server: coordinator,
    token: () => enrolment?.token,
    attempts: 3,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  })
  const session: DeviceSession = {
    async enrol() {
      if (enrolment) return enrolment
      const answer = await http.post<EnrolAnswer>('/api/v1/devices', {
        protocolVersion: PROTOCOL_VERSION,
        ...(options.label ? { label: options.label } : {}),
      })
      enrolment = { deviceId: answer.deviceId, token: answer.token }
      await saveEnrolment(db, coordinator, enrolment)
      return enrolment
    },
    async forget() {
      enrolment = undefined
      await clearEnrolment(db, coordinator)
    },
    async call(request) {
      await session.enrol()
      try {
        return await request(http)
      } catch (error) {
        if (!(error instanceof ProtocolError && error.status === 401)) throw error
        await session.forget()
        await session.enrol()
        return request(http)
      }
    },
  }
  return session
}
