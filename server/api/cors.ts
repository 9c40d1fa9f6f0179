// Which requests a page of another origin may make: the device protocol and the embeddable
// client's files, never the admin API. Safe to open to every origin because a device proves
// itself with a bearer token in a header, which a foreign page holds only if it enrolled; no
// cookie is ever read, so no credentials are allowed either (docs/PROTOCOL.md, CORS).
import type { Hono } from 'hono'
import { cors } from 'hono/cors'

/**
 * Route patterns answered with `Access-Control-Allow-Origin: *`. Everything else (the admin API,
 * the dashboard, the events stream) answers no CORS headers, so a browser keeps other origins
 * from reading it, and its preflights fall through to a 404.
 */
export const CROSS_ORIGIN_ROUTES = [
  // Enrol, check in, the tasks on offer and their current models, a dataset's spec.
  '/api/v1/devices',
  '/api/v1/devices/*',
  // Models by hash (devices download them; the admin's token works here too, but only a page
  // that already holds the token can send it).
  '/api/v1/models/:hash',
  // A round's upload and its secure aggregation stages.
  '/api/v1/tasks/:id/rounds/:round/updates',
  '/api/v1/tasks/:id/rounds/:round/secagg',
  '/api/v1/tasks/:id/rounds/:round/secagg/*',
  // The embeddable module, and the chunks, worker and wasm binaries it loads from /assets/.
  '/embed/*',
  '/assets/*',
] as const

/** How long a browser may cache a preflight's answer, seconds. */
const PREFLIGHT_MAX_AGE = 600

/** Adds CORS to `app` for CROSS_ORIGIN_ROUTES: register before the routes it opens. */
export function openToOtherOrigins(app: Hono): void {
  const open = cors({
    origin: '*',
    allowMethods: ['GET', 'HEAD', 'POST'],
    allowHeaders: ['Authorization', 'Content-Type'],
    // A shed request says when to come back (api/shed.ts); a page reads it only if exposed.
    exposeHeaders: ['Retry-After'],
    maxAge: PREFLIGHT_MAX_AGE,
    credentials: false,
  })
  for (const route of CROSS_ORIGIN_ROUTES) app.use(route, open)
}
