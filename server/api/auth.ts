import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import { PollenError } from '../errors.ts'
import type { DeviceRecord, Store } from '../store/index.ts'

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

function bearer(c: Context): string | undefined {
  const header = c.req.header('authorization')
  const match = header?.match(/^Bearer\s+(\S+)$/i)
  // EventSource cannot set headers, so the event stream also takes ?token=.
  return match?.[1] ?? (c.req.path.endsWith('/events') ? c.req.query('token') : undefined)
}

const sameToken = (a: string, b: string) => {
  const x = createHash('sha256').update(a).digest()
  const y = createHash('sha256').update(b).digest()
  return timingSafeEqual(x, y)
}

export const isAdmin = (c: Context, adminToken: string) => {
  const token = bearer(c)
  return token !== undefined && sameToken(token, adminToken)
}

export function requireAdmin(adminToken: string): MiddlewareHandler {
  return async (c, next) => {
    if (!isAdmin(c, adminToken))
      throw new PollenError(
        'unauthorized',
        'a valid admin bearer token is required',
        'authorization',
      )
    await next()
  }
}

export type DeviceEnv = { Variables: { device: DeviceRecord } }

export function requireDevice(store: Store): MiddlewareHandler<DeviceEnv> {
  return async (c, next) => {
    const token = bearer(c)
    const device = token ? await store.getDeviceByTokenHash(hashToken(token)) : undefined
    if (!device)
      throw new PollenError(
        'unauthorized',
        'a valid device bearer token is required',
        'authorization',
      )
    c.set('device', device)
    await next()
  }
}
