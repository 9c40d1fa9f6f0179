import { serveStatic } from '@hono/node-server/serve-static'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Hono, type Context, type MiddlewareHandler } from 'hono'

const repo = fileURLToPath(new URL('../../', import.meta.url))
/** Where `npm run build:client` writes the phone app. */
export const CLIENT_DIR = join(repo, 'dist', 'client')
/** Static files beside the app: the demo data (`/data/mnist.bin`). */
export const PUBLIC_DIR = join(repo, 'public')

/**
 * The page may load only its own scripts, styles, workers and data. What it needs beyond 'self':
 * `'wasm-unsafe-eval'` to compile TF.js's WASM backend (no JavaScript eval), `blob:` workers and
 * scripts (the WASM backend starts its threads from a blob of its own code, which imports another
 * blob; only script already running here can make one), `data:` and `blob:` images
 * (the dashboard's QR code is a data URL). `frame-ancestors 'none'`: no foreign page may frame
 * the app or the dashboard (clickjacking).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval' blob:",
  "worker-src 'self' blob:",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * Security headers on every response, the API's included. Cross-origin isolation lets the page
 * use SharedArrayBuffer, which the WASM backend needs for threads; the rest keep the app and the
 * dashboard out of foreign frames, stop content sniffing, and send no Referer (the dashboard's
 * event stream may carry the admin token in its URL).
 */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next()
  c.header('Cross-Origin-Opener-Policy', 'same-origin')
  c.header('Cross-Origin-Embedder-Policy', 'require-corp')
  c.header('Cross-Origin-Resource-Policy', 'same-origin')
  c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  c.header('X-Content-Type-Options', 'nosniff')
  c.header('X-Frame-Options', 'DENY')
  c.header('Referrer-Policy', 'no-referrer')
}

/** Where the build puts the dashboard's page, under the client folder. */
const DASHBOARD_PAGE = 'dashboard/index.html'

/**
 * The phone app, the dashboard (`/dashboard`) and public files. Hashed build assets are cached for good; the shell, the
 * service worker and the manifest are revalidated so an update reaches phones.
 */
export function staticRoutes({ clientDir = CLIENT_DIR, publicDir = PUBLIC_DIR } = {}) {
  const app = new Hono()
  app.use('*', async (c, next) => {
    await next()
    if (c.res.status !== 200 || c.res.headers.has('Cache-Control')) return
    c.header(
      'Cache-Control',
      c.req.path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    )
  })
  // The dashboard's page, with or without the slash; its assets sit in /assets/ with the app's.
  for (const route of ['/dashboard', '/dashboard/'])
    app.get(route, serveStatic({ root: clientDir, path: DASHBOARD_PAGE }))
  app.get('*', serveStatic({ root: clientDir }))
  app.get('*', serveStatic({ root: publicDir }))
  const notBuilt = (file: string, what: string) => (c: Context) =>
    existsSync(join(clientDir, file))
      ? c.notFound()
      : c.html(
          '<!doctype html><meta charset="utf-8"><title>Pollen</title>' +
            `<p>The ${what} is not built. Run <code>npm run build:client</code> (npm start does it).</p>`,
          503,
        )
  app.get('/', notBuilt('index.html', 'phone app'))
  for (const route of ['/dashboard', '/dashboard/'])
    app.get(route, notBuilt(DASHBOARD_PAGE, 'dashboard'))
  return app
}
