import { serve } from '@hono/node-server'
import { join } from 'node:path'
import { networkInterfaces } from 'node:os'
import { TaskSpecSchema } from '../shared/protocol/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { loadMnist } from '../scripts/mnist-file.ts'
import { createCoordinator } from './app.ts'
import { fileBlobStore, sweepBlobTemporaries } from './blobs/index.ts'
import { ConfigError, readConfig } from './config.ts'
import { pgliteStore } from './store/index.ts'

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

async function main() {
  const config = await readConfig()
  await useBackend('wasm')
  const blobDir = join(config.dataDir, 'blobs')
  await sweepBlobTemporaries(blobDir)
  const store = await pgliteStore(join(config.dataDir, 'db'))
  const { test } = await loadMnist()
  const coordinator = await createCoordinator({
    store,
    blobs: fileBlobStore(blobDir),
    adminToken: config.adminToken,
    heldOut: new Map([['mnist', test]]),
    log,
  })
  if (config.demoTask && coordinator.scheduler.listTasks().length === 0) {
    const task = await coordinator.scheduler.createTask(DEMO_TASK)
    log(`created the demo task ${task.id} (${task.name})`)
  }
  const server = serve(
    { fetch: coordinator.app.fetch, port: config.port, hostname: config.host },
    (info) => {
      const urls = [`http://localhost:${info.port}/`]
      for (const nets of Object.values(networkInterfaces()))
        for (const net of nets ?? [])
          if (net.family === 'IPv4' && !net.internal)
            urls.push(`http://${net.address}:${info.port}/`)
      log(`Pollen coordinator listening on ${urls.join(' ')}`)
      log(`data in ${config.dataDir}`)
      log(
        config.adminTokenGenerated
          ? `admin token (generated, saved in ${join(config.dataDir, 'admin-token')}): ${config.adminToken}`
          : `admin token: from ${process.env.POLLEN_ADMIN_TOKEN ? 'POLLEN_ADMIN_TOKEN' : join(config.dataDir, 'admin-token')}`,
      )
    },
  )
  const shutdown = () => {
    log('shutting down')
    server.close()
    void coordinator
      .close()
      .then(() => store.close())
      .finally(() => process.exit(0))
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `configuration: ${error.message}` : error)
  process.exit(1)
})
