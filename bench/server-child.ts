// The coordinator under test, alone in its own process so that its memory is measured alone.
// Started by bench/server.ts with an IPC channel: it answers `{ type: 'ready', port }`, and stops
// on `{ type: 'stop' }`. Wired as server/main.ts wires it (wasm backend, PGlite in a folder, file
// blobs), without held-out data: the benchmark measures aggregation, not evaluation. One extra
// route, GET /bench/memory[?reset], reports its CPU time so far, RSS now, its peak since the last reset (exact on Linux,
// else sampled), and the kernel's high-water mark (getrusage maxrss), which before the first reset
// is the peak of startup.
import { serve } from '@hono/node-server'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { useBackend } from '../shared/tf/index.ts'
import { createCoordinator } from '../server/app.ts'
import { fileBlobStore } from '../server/blobs/index.ts'
import { highWaterMark } from './memory.ts'
import { pgliteStore } from '../server/store/index.ts'

const SAMPLE_MS = 5

type Message = { type: 'stop' }

const cpuMicros = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}

function send(message: object) {
  process.send?.(message)
}

async function main() {
  const adminToken = process.env.POLLEN_BENCH_ADMIN_TOKEN
  if (!adminToken) throw new Error('POLLEN_BENCH_ADMIN_TOKEN is not set')
  await useBackend('wasm')
  const dir = await mkdtemp(join(tmpdir(), 'pollen-bench-'))
  const store = await pgliteStore(join(dir, 'db'))
  const coordinator = await createCoordinator({
    store,
    blobs: fileBlobStore(join(dir, 'blobs')),
    adminToken,
    log: (message) => console.error(`[coordinator] ${message}`),
  })

  // The sampler runs only where the exact peak cannot be reset (it costs about 1% of a core).
  let peak = process.memoryUsage.rss()
  let sampler: NodeJS.Timeout | undefined
  const startSampler = () =>
    setInterval(() => {
      const rss = process.memoryUsage.rss()
      if (rss > peak) peak = rss
    }, SAMPLE_MS)

  let exact = false
  const memory = (reset: boolean) => {
    const now = process.memoryUsage()
    if (now.rss > peak) peak = now.rss
    const answer = {
      rss: now.rss,
      sampledPeakRss: peak,
      /** Exact peak since the last reset, where the OS can tell (Linux). */
      highWaterRss: exact ? highWaterMark.read() : null,
      maxRss: process.resourceUsage().maxRSS * 1024,
      heapUsed: now.heapUsed,
      external: now.external,
      arrayBuffers: now.arrayBuffers,
      /** CPU time this process has used (user + system, µs): the coordinator's share of cores. */
      cpuMicros: cpuMicros(),
    }
    if (reset) {
      peak = now.rss
      exact = highWaterMark.reset()
      if (!exact) sampler ??= startSampler()
    }
    return answer
  }

  const server = serve({
    // The bindings (Node's request and response) pass on, as they do in server/main.ts.
    fetch: (request, env) => {
      const url = new URL(request.url)
      if (url.pathname === '/bench/memory')
        return Response.json(memory(url.searchParams.has('reset')))
      return coordinator.app.fetch(request, env)
    },
    port: 0,
    hostname: '127.0.0.1',
  })
  server.once('listening', () => {
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no TCP address')
    send({ type: 'ready', port: address.port })
  })

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    clearInterval(sampler)
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await coordinator.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
  process.on('message', (message: Message) => {
    if (message.type === 'stop')
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error)
          process.exit(1)
        },
      )
  })
  // The parent went away without saying stop: do not linger.
  process.on('disconnect', () => {
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
