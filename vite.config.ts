// The phone app: client/app -> dist/client (served by the coordinator at /). `npm run build:client`.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'
import { ICON_SIZES, iconPath, iconPng, THEME_COLOR } from './scripts/icons.ts'

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url))

/**
 * The phone app's JavaScript (its entries plus what they import statically) may not exceed this.
 * 52 KiB since issue 16: examples of any shape, checked per dataset as they are stored; 53 KiB
 * since issue 18: the model download picked by the network, and the History's bytes down.
 */
const PAGE_BUDGET_BYTES = 53 * 1024
/**
 * The dashboard is opened on a laptop over the LAN, not on a metered phone, and carries the
 * charts (uPlot) and the QR code: a budget of its own, apart from the phone's.
 */
const DASHBOARD_BUDGET_BYTES = 160 * 1024
/**
 * The embeddable client (client/embed), loaded by other sites' pages: it brings the device
 * runtime and the protocol's schemas (zod), so a budget of its own; TF.js stays in the worker.
 */
const EMBED_BUDGET_BYTES = 192 * 1024
/** Where the build writes the embeddable module: a stable URL other sites import. */
const EMBED_FILE = 'embed/pollen.js'
/** Modules that must never reach a page bundle: TF.js loads in the training worker. */
const PAGE_FORBIDDEN = /[\\/]@tensorflow[\\/]|[\\/]shared[\\/](tf|training|kernels)[\\/]/

/** As the coordinator sends them: the page is cross-origin isolated (WASM threads need it). */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
}

/** Paints the icons at build time (and serves them in dev): no binary files in git. */
function icons(): Plugin {
  const files = new Map(ICON_SIZES.map((size) => [iconPath(size), () => iconPng(size)]))
  return {
    name: 'pollen-icons',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const make = files.get((req.url ?? '').replace(/^\//, '').split('?')[0] ?? '')
        if (!make) return next()
        res.setHeader('Content-Type', 'image/png')
        res.end(make())
      })
    },
    generateBundle() {
      for (const [fileName, make] of files)
        this.emitFile({ type: 'asset', fileName, source: make() })
    },
  }
}

/** The dashboard's sources (client/dashboard) and where Vite sees its page: inside the root. */
const DASHBOARD_DIR = path('./client/dashboard/')
const DASHBOARD_PAGE = path('./client/app/dashboard/index.html')

/**
 * The dashboard lives in client/dashboard, beside the phone app rather than inside Vite's root
 * (client/app), but Vite names an HTML entry's output after its path under the root. So the
 * entry is client/app/dashboard/index.html (built to dist/client/dashboard/index.html), a page
 * whose text comes from client/dashboard/index.html and whose `/dashboard/...` imports resolve
 * there. `vite dev` serves it at /dashboard/ the same way.
 */
function dashboardPage(): Plugin[] {
  const html = () => readFileSync(`${DASHBOARD_DIR}index.html`, 'utf8')
  const page: Plugin = {
    name: 'pollen-dashboard-page',
    enforce: 'pre',
    resolveId(id) {
      if (id === DASHBOARD_PAGE) return id
      if (id.startsWith('/dashboard/')) return `${DASHBOARD_DIR}${id.slice('/dashboard/'.length)}`
      return undefined
    },
    load(id) {
      return id === DASHBOARD_PAGE ? html() : undefined
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (!/^\/dashboard\/?(\?|$)/.test(req.url ?? '')) return next()
        server
          .transformIndexHtml('/dashboard/index.html', html())
          .then((page) => {
            res.setHeader('Content-Type', 'text/html')
            res.end(page)
          })
          .catch(next)
      })
    },
  }
  // The PWA plugin links the phone app's manifest into every page; the dashboard is no phone
  // app to install. After the PWA plugin: list this one after it.
  const noManifest: Plugin = {
    name: 'pollen-dashboard-no-manifest',
    enforce: 'post',
    apply: 'build',
    generateBundle(_, bundle) {
      const asset = bundle['dashboard/index.html']
      if (asset?.type === 'asset' && typeof asset.source === 'string')
        asset.source = asset.source.replace(/<link rel="manifest"[^>]*>/, '')
    },
  }
  return [page, noManifest]
}

/** A page and what its JavaScript may weigh: the named entries and their static imports. */
interface Budget {
  page: string
  entries: string[]
  maxBytes: number
  forbidden: RegExp
}

/**
 * Fails the build when a page's JavaScript grows past its budget or pulls in TF.js. Each page
 * counts only its own entries (a chunk shared by two pages counts for both); worker bundles
 * are built apart and are not counted.
 */
function pageBudget(budgets: Budget[]): Plugin {
  return {
    name: 'pollen-page-budget',
    apply: 'build',
    generateBundle(_, bundle) {
      const chunks = new Map(
        Object.values(bundle).flatMap((c) => (c.type === 'chunk' ? [[c.fileName, c]] : [])),
      )
      for (const { page, entries, maxBytes, forbidden } of budgets) {
        const seen = new Set<string>()
        const visit = (fileName: string) => {
          if (seen.has(fileName)) return
          seen.add(fileName)
          chunks.get(fileName)?.imports.forEach(visit)
        }
        for (const c of chunks.values())
          if (c.isEntry && entries.includes(c.name)) visit(c.fileName)
        if (seen.size === 0) this.error(`no entry ${entries.join(', ')} for the ${page}`)
        let bytes = 0
        for (const fileName of seen) {
          const chunk = chunks.get(fileName)!
          bytes += Buffer.byteLength(chunk.code)
          const bad = chunk.moduleIds.find((id) => forbidden.test(id))
          if (bad)
            this.error(`${bad} reached the ${page}'s bundle (${fileName}); load it in a worker`)
        }
        if (bytes > maxBytes) {
          this.error(`the ${page}'s JavaScript is ${bytes} bytes, over its budget of ${maxBytes}`)
        }
        this.info(`${page} JavaScript: ${bytes} bytes (budget ${maxBytes})`)
      }
    },
  }
}

export default defineConfig(({ command }) => ({
  root: path('./client/app'),
  // The coordinator serves public/ (the 7.9 MB demo digits) itself: keep it out of the build,
  // but serve it in `vite dev`.
  publicDir: command === 'serve' ? path('./public') : false,
  build: {
    outDir: path('./dist/client'),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      // Keep the training entry's exports (an app build drops them by default).
      preserveEntrySignatures: 'exports-only',
      input: {
        index: path('./client/app/index.html'),
        // The page side of the training worker as an entry of its own (assets/training-<hash>.js),
        // so the worker, its TF.js chunks and the wasm binaries are built and precached even
        // before a screen imports it; e2e/worker.spec.ts imports it directly.
        training: path('./client/app/training/index.ts'),
        dashboard: DASHBOARD_PAGE,
        // The embeddable client: /embed/pollen.js, unhashed, imported by other origins' pages.
        embed: path('./client/embed/index.ts'),
      },
      output: {
        entryFileNames: (chunk) =>
          chunk.name === 'embed' ? EMBED_FILE : 'assets/[name]-[hash].js',
      },
    },
  },
  // The training worker (client/app/training/worker.ts) is an ES module: it splits TF.js backends
  // into chunks it imports on demand (WebGPU only where there is an adapter). Minified without
  // `compress`: the wasm backend starts its threads from `factory.toString()`, and compression
  // turns the factory's `typeof _scriptDir !== 'undefined'` guard into a bare reference to a
  // variable of the enclosing scope, so every thread worker died with "e is not defined".
  worker: {
    format: 'es',
    rolldownOptions: { output: { minify: { compress: false, mangle: true } } },
  },
  server: { headers: isolation },
  preview: { headers: isolation },
  plugins: [
    icons(),
    pageBudget([
      // The training entry is the phone page's side of the worker (Comlink): it counts too.
      {
        page: 'phone app',
        entries: ['index', 'training'],
        maxBytes: PAGE_BUDGET_BYTES,
        forbidden: PAGE_FORBIDDEN,
      },
      {
        page: 'dashboard',
        entries: ['dashboard'],
        maxBytes: DASHBOARD_BUDGET_BYTES,
        forbidden: PAGE_FORBIDDEN,
      },
      {
        page: 'embeddable client',
        entries: ['embed'],
        maxBytes: EMBED_BUDGET_BYTES,
        forbidden: PAGE_FORBIDDEN,
      },
    ]),
    VitePWA({
      // Our own service worker (client/app/pwa/sw.ts): Workbox's routes plus a Background Sync
      // handler that sends queued weight updates. The precache list is injected at build time.
      strategies: 'injectManifest',
      srcDir: 'pwa',
      filename: 'sw.ts',
      manifestFilename: 'manifest.webmanifest',
      // client/app/pwa registers it through workbox-window.
      injectRegister: false,
      registerType: 'prompt',
      includeManifestIcons: false,
      manifest: {
        id: '/',
        name: 'Pollen',
        short_name: 'Pollen',
        description:
          'Help train a model on your phone: your examples stay on it, only weight updates leave.',
        lang: 'en',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'portrait',
        theme_color: THEME_COLOR,
        background_color: '#f6f5ef',
        icons: [
          ...ICON_SIZES.map((size) => ({
            src: `/${iconPath(size)}`,
            sizes: `${size}x${size}`,
            type: 'image/png',
            purpose: 'any',
          })),
          { src: `/${iconPath(512)}`, sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        // wasm: the TF.js binaries the training worker loads, so training works offline too.
        globPatterns: ['**/*.{html,js,css,png,wasm}'],
        // The worker's TF.js chunks and the wasm binaries are larger than Workbox's 2 MiB default.
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        rollupFormat: 'es',
        // The dashboard is for the data scientist's laptop: no phone downloads it.
        globIgnores: ['dashboard/**', 'assets/dashboard-*', 'embed/**'],
      },
    }),
    dashboardPage(),
  ],
}))
