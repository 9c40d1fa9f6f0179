// Replicas as real processes of `npm start`'s entry point on one PostgreSQL database, each with
// its own data dir and port and the same admin token: started, found, and killed for tests.
import type { ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, healthy, startChild, waitFor } from './harness.ts'

export interface Replica {
  url: string
  child: ChildProcess
  output: string[]
}

export function replicaSet() {
  const replicas: Replica[] = []

  /** A replica on `databaseUrl`, started (not yet healthy: see `healthy`). */
  async function start(databaseUrl: string): Promise<Replica> {
    const port = await freePort()
    const dataDir = await mkdtemp(join(tmpdir(), 'pollen-replica-'))
    const output: string[] = []
    const child = startChild(port, dataDir, output, {
      POLLEN_DATABASE_URL: databaseUrl,
      POLLEN_TAKEOVER_POLL_MS: '200',
    })
    const replica = { url: `http://127.0.0.1:${port}`, child, output }
    replicas.push(replica)
    return replica
  }

  /** `n` replicas started together (on an empty database: they race for its migrations). */
  async function startAll(databaseUrl: string, n: number): Promise<Replica[]> {
    const started = await Promise.all(Array.from({ length: n }, () => start(databaseUrl)))
    for (const r of started)
      await waitFor(healthy(r.url), 120_000, `a replica to start: ${r.output.join('')}`)
    return started
  }

  const alive = () =>
    replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null)

  /** The replica that owns the task now: the latest "owned here" line, by epoch. */
  function owner(taskId: string): Replica | undefined {
    let best: { replica: Replica; epoch: number } | undefined
    for (const replica of alive())
      for (const m of replica.output.join('').matchAll(/task (\S+): owned here \(epoch (\d+)\)/g))
        if (m[1] === taskId && (!best || Number(m[2]) > best.epoch))
          best = { replica, epoch: Number(m[2]) }
    return best?.replica
  }

  function kill9(replica: Replica) {
    const exited = new Promise((r) => replica.child.once('exit', r))
    replica.child.kill('SIGKILL')
    return exited
  }

  return { startAll, alive, owner, kill9 }
}
