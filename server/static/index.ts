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
 * Cross-origin isolation on every response: the page can then use SharedArrayBuffer, which
 * the WASM backend needs for threads.
 */
export const crossOriginIsolation: MiddlewareHandler = async (c, next) => {
  await next()
  c.header('Cross-Origin-Opener-Policy', 'same-origin')
  c.header('Cross-Origin-Embedder-Policy', 'require-corp')
  c.header('Cross-Origin-Resource-Policy', 'same-origin')
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
