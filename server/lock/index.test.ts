import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  assertDataDirFree,
  DataDirLocked,
  LOCK_FILE,
  lockDataDir,
  processStart,
  type LockHolder,
} from './index.ts'

const dataDir = () => mkdtemp(join(tmpdir(), 'pollen-lock-'))

/** Another real process, alive until killed. */
function sleeper(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' })
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child))
    child.once('error', reject)
  })
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise((resolve) => child.once('exit', resolve))
}

/** A lock file as a coordinator with this pid would have left it. */
async function leaveLock(dir: string, holder: Partial<LockHolder> & { pid: number }) {
  const file = join(dir, LOCK_FILE)
  await writeFile(
    file,
    JSON.stringify({
      since: '2026-01-02T03:04:05.000Z',
      host: 'elsewhere',
      bootId: null,
      processStart: null,
      urls: ['http://127.0.0.1:8080/'],
      token: 'left-behind',
      ...holder,
    }),
  )
  return file
}

describe('lockDataDir', () => {
  const children: ChildProcess[] = []
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL')
  })

  it('writes the holder, refuses a second lock, and removes its file on release', async () => {
    const dir = await dataDir()
    const lock = await lockDataDir(dir)
    const written = JSON.parse(await readFile(lock.file, 'utf8')) as LockHolder
    expect(written).toMatchObject({ pid: process.pid, urls: [], token: lock.holder.token })
    await lock.announce(['http://127.0.0.1:9999/'])
    expect(JSON.parse(await readFile(lock.file, 'utf8'))).toMatchObject({
      urls: ['http://127.0.0.1:9999/'],
    })
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirLocked)
    lock.release()
    expect(await readdir(dir)).toEqual([])
    const again = await lockDataDir(dir)
    again.release()
  })

  it('refuses while the holder lives, naming its pid, since when and its address', async () => {
    const dir = await dataDir()
    const holder = await sleeper()
    children.push(holder)
    const file = await leaveLock(dir, {
      pid: holder.pid!,
      processStart: processStart(holder.pid!),
    })
    const refusal = await lockDataDir(dir).catch((error: unknown) => error)
    expect(refusal).toBeInstanceOf(DataDirLocked)
    const { message } = refusal as DataDirLocked
    expect(message).toContain(`pid ${holder.pid}`)
    expect(message).toContain('since 2026-01-02T03:04:05.000Z')
    expect(message).toContain('listening on http://127.0.0.1:8080/')
    expect(message).toContain(file)
    // The holder's file is left as it was.
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ token: 'left-behind' })
  })

  it('takes over the lock of a process that is gone (kill -9), saying so', async () => {
    const dir = await dataDir()
    const gone = await sleeper()
    gone.kill('SIGKILL')
    await exited(gone)
    await leaveLock(dir, { pid: gone.pid! })
    const heard: string[] = []
    const lock = await lockDataDir(dir, { log: (m) => heard.push(m) })
    expect(lock.holder.pid).toBe(process.pid)
    expect(heard.join('\n')).toContain(`pid ${gone.pid}`)
    expect(heard.join('\n')).toContain('is not running')
    lock.release()
  })

  it('takes over a lock whose pid now belongs to a later process (pid reuse)', async () => {
    const dir = await dataDir()
    const other = await sleeper()
    children.push(other)
    await leaveLock(dir, { pid: other.pid!, processStart: '1' })
    // Without /proc a reused pid looks alive: the lock is refused, the safe side.
    if (processStart(process.pid) === null)
      return expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirLocked)
    const lock = await lockDataDir(dir)
    expect(lock.holder.pid).toBe(process.pid)
    lock.release()
  })

  it('takes over a lock with its own pid, or from before a reboot', async () => {
    const dir = await dataDir()
    await leaveLock(dir, { pid: process.pid })
    const lock = await lockDataDir(dir)
    lock.release()
    const holder = await sleeper()
    children.push(holder)
    await leaveLock(dir, { pid: holder.pid!, bootId: 'another-boot' })
    if (processStart(process.pid) === null) {
      await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirLocked)
    } else {
      const after = await lockDataDir(dir)
      after.release()
    }
  })

  it('refuses a file it did not write, naming it', async () => {
    const dir = await dataDir()
    await writeFile(join(dir, LOCK_FILE), 'not json')
    await expect(lockDataDir(dir)).rejects.toThrow(
      /coordinator\.pid is not a lock file Pollen wrote/,
    )
  })

  it('says whether a data dir is free without taking it: held by a live process, or not', async () => {
    const dir = await dataDir()
    await assertDataDirFree(dir)
    const live = await sleeper()
    children.push(live)
    await leaveLock(dir, { pid: live.pid!, processStart: processStart(live.pid!) })
    await expect(assertDataDirFree(dir)).rejects.toThrow(/in use by another Pollen coordinator/)
    live.kill('SIGKILL')
    await exited(live)
    await assertDataDirFree(dir)
    // Nothing taken: the stale file is still there for the coordinator to take over.
    expect(await readdir(dir)).toEqual([LOCK_FILE])
  })
})
