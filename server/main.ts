import { readFile } from 'node:fs/promises'
import { createServer as createHttpsServer } from 'node:https'
import { networkInterfaces } from 'node:os'
import QRCode from 'qrcode'
import { TaskSpecSchema } from '../shared/protocol/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { listen } from './api/listen.ts'
import { createCoordinator } from './app.ts'
import { openBacking } from './backing.ts'
import { clusterScheduler } from './cluster/index.ts'
import { ConfigError, readConfig, type Config } from './config.ts'
import { DataDirLocked, lockDataDir } from './lock/index.ts'
import { selfSignedCertificate, type TlsFiles } from './tls/index.ts'

/** The demo task `npm start` creates on a fresh data dir (POLLEN_DEMO=0 to skip). */
export const DEMO_TASK = TaskSpecSchema.parse({
  name: 'Demo: handwritten digits',
  purpose: 'Learn to read handwritten digits (MNIST) without the digits leaving the devices.',
  model: { preset: 'mnist-2nn' },
  dataset: 'mnist',
  train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
  rounds: { total: 50, clientsPerRound: 3, minReports: 2, deadlineSeconds: 60, overSelect: 1.3 },
})

const log = (message: string) => console.log(`${new Date().toISOString()} ${message}`)

/** The addresses phones on the network can reach, when listening on every interface. */
function lanAddresses(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return []
  return Object.values(networkInterfaces())
    .flatMap((nets) => nets ?? [])
    .filter((net) => net.family === 'IPv4' && !net.internal)
    .map((net) => net.address)
}

async function tlsFiles(config: Config, lan: string[]): Promise<TlsFiles | undefined> {
  if (config.tls === undefined) return undefined
  if (config.tls === 'self-signed') return selfSignedCertificate(config.dataDir, lan)
  const [key, cert] = await Promise.all([
    readFile(config.tls.key, 'utf8'),
    readFile(config.tls.cert, 'utf8'),
  ])
  return { key, cert, source: config.tls.cert }
}

async function main() {
  const config = await readConfig()
  // Before anything in the data dir is touched: a second coordinator there would wreck the
  // database (and sweep the first one's blob temporaries).
  const lock = await lockDataDir(config.dataDir, { log })
  await useBackend('wasm')
  const backing = await openBacking(config, { log })
  const { store, blobs, events, adminToken, pool } = backing
  const { test } = await loadMnist()
  const coordinator = await createCoordinator({
    // PostgreSQL mode: one of any number of replicas on the database (server/cluster).
    ...(pool && config.database
      ? {
          scheduler: clusterScheduler({
            pool,
            connection: config.database.url,
            pollMs: config.database.takeoverPollMs,
          }),
          // Read again as often as the task cache is (cluster/index.ts).
          sharedDatasets: { pollMs: Math.min(config.database.takeoverPollMs, 500) },
        }
      : {}),
    store,
    blobs,
    events,
    adminToken: adminToken.token,
    heldOut: new Map([['mnist', test]]),
    heldOutLimits: config.heldOutLimits,
    log,
    models: { budget: config.modelBudget, buildTimeoutMs: config.modelBuildSeconds * 1000 },
  })
  if (
    config.demoTask &&
    coordinator.scheduler.listTasks().length === 0 &&
    (await backing.claimDemo())
  ) {
    const task = await coordinator.scheduler.createTask(DEMO_TASK)
    log(`created the demo task ${task.id} (${task.name})`)
  }
  const lan = lanAddresses(config.host)
  const tls = await tlsFiles(config, lan)
  const scheme = tls ? 'https' : 'http'
  const server = listen(
    {
      fetch: coordinator.app.fetch,
      port: config.port,
      hostname: config.host,
      ...(tls
        ? { createServer: createHttpsServer, serverOptions: { key: tls.key, cert: tls.cert } }
        : {}),
    },
    (info) => void announce(info.port),
  )

  async function announce(port: number) {
    const urls = [
      `${scheme}://localhost:${port}/`,
      ...lan.map((ip) => `${scheme}://${ip}:${port}/`),
    ]
    log(`Pollen coordinator listening on ${urls.join(' ')}`)
    await lock
      .announce(urls)
      .catch((error: unknown) =>
        log(`could not write the address into ${lock.file}: ${String(error)}`),
      )
    log(`data in ${config.dataDir}`)
    if (tls) log(`HTTPS certificate: ${tls.source}`)
    log(
      adminToken.generated
        ? `admin token (generated, saved in ${adminToken.from}): ${adminToken.token}`
        : `admin token: from ${adminToken.from}`,
    )
    // Phones on the same network open the LAN address: print it as a QR code to scan.
    const phoneUrl = urls[1] ?? urls[0]!
    coordinator.announce({ phoneUrl, urls })
    const qr = await QRCode.toString(phoneUrl, { type: 'terminal', small: true })
    console.log(`\nOpen Pollen on a phone: ${phoneUrl}\n${qr}`)
    if (!tls && lan.length > 0)
      log(
        'phones need HTTPS for the app (service worker, WebCrypto): start with POLLEN_TLS=self-signed',
      )
  }

  const shutdown = () => {
    log('shutting down')
    server.close()
    void coordinator
      .close()
      .then(() => backing.close())
      .then(() => lock.release())
      .finally(() => process.exit(0))
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}

main().catch((error: unknown) => {
  console.error(
    error instanceof ConfigError
      ? `configuration: ${error.message}`
      : error instanceof DataDirLocked
        ? `data dir: ${error.message}`
        : error,
  )
  process.exit(1)
})
