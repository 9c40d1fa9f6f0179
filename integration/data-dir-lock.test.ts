import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { TaskSpecInput } from '../shared/protocol/index.ts'
import { adminClient, freePort, healthy, startChild, waitFor } from './harness.ts'

// Two coordinators on one data dir once opened the same PGlite database, each seeing only its
// own writes, and left a database that no longer opened. The second must refuse to start.
describe('one coordinator per data dir', () => {
  const children: ChildProcess[] = []
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')))

  const exitOf = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
      else child.once('exit', (code) => resolve(code))
    })
  const spec = (name: string): TaskSpecInput => ({
    name,
    purpose: 'Check that a second coordinator cannot open the same data dir.',
    model: { preset: 'mnist-2nn' },
    rounds: { total: 3, clientsPerRound: 2, minReports: 2, deadlineSeconds: 60 },
  })

  it('refuses a second coordinator naming the first; the first keeps serving; a kill -9 leaves no lock that blocks', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pollen-lock-it-'))
    const [port1, port2, port3] = [await freePort(), await freePort(), await freePort()]
    const url1 = `http://127.0.0.1:${port1}`
    const firstOutput: string[] = []
    const first = startChild(port1, dataDir, firstOutput)
    children.push(first)
    await waitFor(healthy(url1), 90_000, 'the first coordinator to start')
    const admin1 = adminClient(url1)
    const a1 = await admin1.createTask(spec('a1'))

    const secondOutput: string[] = []
    const second = startChild(port2, dataDir, secondOutput)
    children.push(second)
    expect(await exitOf(second)).not.toBe(0)
    const refusal = secondOutput.join('')
    expect(refusal).toContain(`data dir: ${dataDir} is in use by another Pollen coordinator`)
    expect(refusal).toContain(`pid ${first.pid}`)
    expect(refusal).toMatch(/since \d{4}-\d\d-\d\dT/)
    expect(refusal).toContain(`listening on http://localhost:${port1}/`)
    expect(await fetch(`http://127.0.0.1:${port2}/healthz`).catch(() => 'refused')).toBe('refused')

    // The first goes on serving, with its data, and takes new writes.
    expect(await healthy(url1)()).toBe(true)
    const a2 = await admin1.createTask(spec('a2'))
    expect((await admin1.task(a1.id)).name).toBe('a1')

    first.kill('SIGKILL')
    await exitOf(first)
    const url3 = `http://127.0.0.1:${port3}`
    const thirdOutput: string[] = []
    const third = startChild(port3, dataDir, thirdOutput)
    children.push(third)
    await waitFor(healthy(url3), 90_000, 'a coordinator to start after the kill -9')
    expect(thirdOutput.join('')).toContain(`its holder, pid ${first.pid}`)
    const admin3 = adminClient(url3)
    expect((await admin3.task(a1.id)).name).toBe('a1')
    expect((await admin3.task(a2.id)).name).toBe('a2')

    // A clean shutdown removes the lock file.
    third.kill('SIGTERM')
    expect(await exitOf(third)).toBe(0)
    expect(await readdir(dataDir)).not.toContain('coordinator.pid')
  })
})
