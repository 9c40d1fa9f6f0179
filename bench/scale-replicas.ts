// The coordinators bench:scale measures: real child processes of server/main.ts (the entry
// `npm start` runs), each with its own data dir and port, on the embedded store or on one
// PostgreSQL database made fresh for the run and dropped after (server/store/testing-pg.ts).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Replica {
  pid: number
  url: string
  dataDir: string
  process: ChildProcess
  exited: Promise<number | null>
}

const MAIN = fileURLToPath(new URL('../server/main.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Starts one coordinator; resolves once it says where it listens. */
export async function startReplica(env: Record<string, string>, name: string): Promise<Replica> {
  const dataDir = await mkdtemp(join(tmpdir(), `pollen-scale-${name}-`))
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      POLLEN_DATA: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      POLLEN_DEMO: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  let log = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within 120 s:\n${log}`)),
      120_000,
    )
    const read = (chunk: Buffer) => {
      log += chunk.toString()
      const match = /listening on (http:\/\/localhost:\d+)\//.exec(log)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!.replace('localhost', '127.0.0.1'))
      }
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${code}) at startup:\n${log}`))
    })
  })
  // Keep draining its output, so a full pipe never stalls it; keep errors for the report.
  child.stdout.removeAllListeners('data').resume()
  child.stderr.removeAllListeners('data')
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk.toString()}`))
  return { pid: child.pid!, url, dataDir, process: child, exited }
}

/** SIGTERM, then SIGKILL after 30 s; the data dir is removed. */
export async function stopReplica(replica: Replica): Promise<void> {
  if (replica.process.exitCode === null && replica.process.signalCode === null) {
    replica.process.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>(
      (resolve) => (timer = setTimeout(() => resolve('late'), 30_000)),
    )
    if ((await Promise.race([replica.exited, late])) === 'late') {
      replica.process.kill('SIGKILL')
      await replica.exited
    }
    clearTimeout(timer)
  }
  await rm(replica.dataDir, { recursive: true, force: true })
}
