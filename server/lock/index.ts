// One coordinator per data dir. PGlite takes no lock of its own: two processes on one folder each
// see only their own writes and leave a database that no longer opens. Like PostgreSQL's
// postmaster.pid, the holder writes its pid to a file in the data dir for its life; a second
// start finds a live holder and refuses, and a lock left by a killed process is taken over.
import { randomUUID } from 'node:crypto'
import { readFileSync, unlinkSync } from 'node:fs'
import { link, open, readFile, rename, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'

/** The lock file's name inside the data dir. */
export const LOCK_FILE = 'coordinator.pid'

/** What the lock file says about the process holding it. */
export interface LockHolder {
  pid: number
  /** When it took the lock (ISO 8601). */
  since: string
  host: string
  /** Linux: the kernel's boot id and the process's start time in clock ticks since boot. */
  bootId: string | null
  processStart: string | null
  /** Where it serves, once it listens (empty before). */
  urls: string[]
  /** Tells this holder's file from a later one of the same pid. */
  token: string
}

/** The data dir is held by a live coordinator. */
export class DataDirLocked extends Error {
  constructor(
    readonly file: string,
    readonly holder: LockHolder | null,
    detail: string,
  ) {
    super(detail)
  }
}

export interface DataDirLock {
  readonly file: string
  readonly holder: LockHolder
  /** Writes where this coordinator serves into the lock file, for the message a second start prints. */
  announce(urls: readonly string[]): Promise<void>
  /** Removes the lock file if it is still this process's. */
  release(): void
}

/** Lock files this process holds: its own pid in one of them is no stale lock. */
const heldHere = new Set<string>()

/**
 * Takes the data dir for this process's life, or throws DataDirLocked naming the holder.
 * `log` hears about a stale lock taken over.
 */
export async function lockDataDir(
  dir: string,
  { log = () => {} }: { log?: (message: string) => void } = {},
): Promise<DataDirLock> {
  const file = join(dir, LOCK_FILE)
  if (heldHere.has(file))
    throw new DataDirLocked(file, null, `${dir} is already locked by this process`)
  const holder: LockHolder = {
    pid: process.pid,
    since: new Date().toISOString(),
    host: hostname(),
    bootId: bootId(),
    processStart: processStart(process.pid),
    urls: [],
    token: randomUUID(),
  }
  // A few rounds: each either creates the file, refuses, or removes a stale one and tries again.
  for (let attempt = 0; ; attempt++) {
    if (await create(file, holder)) break
    const text = await readFile(file, 'utf8').catch(() => null)
    if (text === null) continue // removed meanwhile: try again
    const found = parse(text)
    if (!found)
      throw new DataDirLocked(
        file,
        null,
        `${file} is not a lock file Pollen wrote; if no coordinator uses ${dir}, remove it`,
      )
    const why = staleness(found)
    if (why === null || attempt >= 5)
      throw new DataDirLocked(file, found, heldMessage(dir, file, found))
    if (await removeIfUnchanged(file, text))
      log(`took over ${file}: its holder, pid ${found.pid} since ${found.since}, ${why}`)
  }
  heldHere.add(file)
  const releaseOnExit = () => {
    try {
      if (parse(readFileSync(file, 'utf8'))?.token === holder.token) unlinkSync(file)
    } catch {
      // Gone already.
    }
  }
  process.once('exit', releaseOnExit)
  return {
    file,
    holder,
    async announce(urls) {
      holder.urls = [...urls]
      const tmp = `${file}.${randomUUID()}.tmp`
      await write(tmp, holder)
      await rename(tmp, file)
    },
    release() {
      process.removeListener('exit', releaseOnExit)
      heldHere.delete(file)
      releaseOnExit()
    },
  }
}

/**
 * Refuses, as lockDataDir would, when a live coordinator holds `dir`; takes nothing. `npm start`
 * asks before it rebuilds the app, whose files a running coordinator serves.
 */
export async function assertDataDirFree(dir: string): Promise<void> {
  const file = join(dir, LOCK_FILE)
  const text = await readFile(file, 'utf8').catch(() => null)
  if (text === null) return
  const found = parse(text)
  if (!found)
    throw new DataDirLocked(
      file,
      null,
      `${file} is not a lock file Pollen wrote; if no coordinator uses ${dir}, remove it`,
    )
  if (staleness(found) === null) throw new DataDirLocked(file, found, heldMessage(dir, file, found))
}

/** The message a second coordinator prints. */
function heldMessage(dir: string, file: string, holder: LockHolder): string {
  const where = holder.urls.length > 0 ? `listening on ${holder.urls.join(' ')}` : 'starting'
  return (
    `${dir} is in use by another Pollen coordinator: pid ${holder.pid} on ${holder.host}, ` +
    `since ${holder.since}, ${where} (lock file ${file}). ` +
    'Stop that coordinator first, or give this one another POLLEN_DATA.'
  )
}

/**
 * Why a lock's holder cannot be running, or null when it may be. The pid alone is not enough:
 * after a kill -9 and a reboot (or in a fresh container) the same pid may belong to another
 * process, so Linux's boot id and the process's start time tell a reused pid apart.
 */
export function staleness(holder: LockHolder): string | null {
  const boot = bootId()
  if (holder.bootId && boot && holder.bootId !== boot) return 'ran before the machine restarted'
  // Our own pid: whoever held it is gone (a container's coordinator is often pid 1 every time).
  if (holder.pid === process.pid) return `had this process's pid, ${holder.pid}`
  try {
    process.kill(holder.pid, 0)
  } catch (error) {
    // EPERM: the pid exists and belongs to another user, so it may be the holder.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'is not running'
  }
  const start = processStart(holder.pid)
  if (holder.processStart && start && holder.processStart !== start)
    return `is not running (pid ${holder.pid} now belongs to a process started later)`
  return null
}

/** Writes the lock file whole or not at all: written beside it, then linked into place. */
async function create(file: string, holder: LockHolder): Promise<boolean> {
  const tmp = `${file}.${randomUUID()}.tmp`
  await write(tmp, holder)
  try {
    await link(tmp, file)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    await unlink(tmp).catch(() => undefined)
  }
}

async function write(path: string, holder: LockHolder): Promise<void> {
  const handle = await open(path, 'wx', 0o644)
  try {
    await handle.writeFile(JSON.stringify(holder, null, 2) + '\n')
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Removes a stale lock file, unless another start replaced it since we read it: it is moved
 * aside first and put back if it is not the one judged stale, so two starts that both found the
 * same stale lock cannot remove each other's fresh one.
 */
async function removeIfUnchanged(file: string, seen: string): Promise<boolean> {
  const aside = `${file}.${randomUUID()}.stale`
  try {
    await rename(file, aside)
  } catch {
    return false // gone already
  }
  if ((await readFile(aside, 'utf8').catch(() => null)) === seen) {
    await unlink(aside)
    return true
  }
  await link(aside, file).catch(() => undefined)
  await unlink(aside)
  return false
}

function parse(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>
    if (!Number.isSafeInteger(value.pid) || (value.pid ?? 0) <= 0) return null
    if (typeof value.token !== 'string' || typeof value.since !== 'string') return null
    return {
      pid: value.pid!,
      since: value.since,
      host: typeof value.host === 'string' ? value.host : 'an unknown host',
      bootId: typeof value.bootId === 'string' ? value.bootId : null,
      processStart: typeof value.processStart === 'string' ? value.processStart : null,
      urls: Array.isArray(value.urls) ? value.urls.filter((u) => typeof u === 'string') : [],
      token: value.token,
    }
  } catch {
    return null
  }
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null
  } catch {
    return null
  }
}

/** Linux: field 22 of /proc/<pid>/stat, the start time in clock ticks since boot. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[19] ?? null
  } catch {
    return null
  }
}
