import { execFileSync } from 'node:child_process'
import { chmod, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildModel, weightSpec } from '../shared/models/index.ts'
import {
  PROTOCOL_VERSION,
  type CheckinAnswer,
  type TaskSpecInput,
  type TaskView,
} from '../shared/protocol/index.ts'
import { encodeContainer, tensorSize } from '../shared/tensors/index.ts'
import type { HealthReport } from '../server/health/index.ts'
import { pgliteStore } from '../server/store/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'

/** Folders a failed test would leave immutable (and so undeletable). */
const immutable = new Set<() => Promise<void>>()

/**
 * Makes `dir` refuse new files, as a folder made read-only would, and returns the undo. We may
 * run as root, for whom chmod stops nothing: the immutable attribute (chattr +i) does, where
 * the file system has it. Where it has not, a file put in the folder's place makes every write
 * under it fail (ENOTDIR), for root too.
 */
async function denyWrites(dir: string): Promise<{ how: string; undo: () => Promise<void> }> {
  try {
    execFileSync('chattr', ['+i', dir], { stdio: 'ignore' })
    const undo = () => {
      execFileSync('chattr', ['-i', dir])
      immutable.delete(undo)
      return Promise.resolve()
    }
    immutable.add(undo)
    return { how: 'chattr +i', undo }
  } catch {
    // No chattr, or a file system without the attribute.
  }
  if (process.getuid?.() !== 0) {
    await chmod(dir, 0o555)
    return { how: 'chmod 555', undo: () => chmod(dir, 0o755) }
  }
  const aside = `${dir}.aside`
  await rename(dir, aside)
  await writeFile(dir, '')
  return {
    how: 'a file in its place',
    undo: async () => {
      await rm(dir)
      await rename(aside, dir)
    },
  }
}

const json = (body: object, token?: string) => ({
  method: 'POST',
  headers: {
    'Content-Type': 'application/json',
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
  },
  body: JSON.stringify(body),
})

const spec: TaskSpecInput = {
  name: 'storage fails mid-task',
  purpose: 'Check that a failing blob store holds a round, not fails the task.',
  model: { preset: 'mnist-2nn' },
  train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
  rounds: { total: 3, clientsPerRound: 2, minReports: 2, overSelect: 1, deadlineSeconds: 600 },
}

/** The model's weight names and shapes (built once the coordinator has set the backend). */
let layout: ReturnType<typeof weightSpec> | undefined

/** A device over HTTP that uploads a small constant delta, different every round. */
async function device(coordinator: () => string) {
  let url = coordinator()
  const names = (layout ??= weightSpec(buildModel({ preset: 'mnist-2nn' })))
  const r = await fetch(`${url}/api/v1/devices`, json({ protocolVersion: PROTOCOL_VERSION }))
  const { token } = (await r.json()) as { token: string }
  return {
    async train(): Promise<{ round: number; answer: string }> {
      url = coordinator() // the same device after a restart, on the coordinator's new port
      const checkin = await fetch(
        `${url}/api/v1/devices/checkin`,
        json(
          {
            protocolVersion: PROTOCOL_VERSION,
            capabilities: { backend: 'wasm' },
            datasets: [{ name: 'mnist', examples: 600, labels: Array(10).fill(60) }],
          },
          token,
        ),
      )
      const answer = (await checkin.json()) as CheckinAnswer
      if (answer.type !== 'assignment') throw new Error(`not selected: ${JSON.stringify(answer)}`)
      const { round, uploadUrl, model } = answer
      const body = encodeContainer({
        tensors: names.map(({ name, shape }) => ({
          name,
          shape,
          dtype: 'float32' as const,
          data: new Float32Array(tensorSize(shape)).fill(0.001 * round),
        })),
        metadata: { examples: 32, steps: 1, baseModel: model.hash },
      })
      const upload = await fetch(`${url}${uploadUrl}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
        body: body as Uint8Array<ArrayBuffer>,
      })
      return { round, answer: ((await upload.json()) as { type: string }).type }
    },
  }
}

const health = async (url: string) => {
  const response = await fetch(`${url}/healthz`)
  return { status: response.status, body: (await response.json()) as HealthReport }
}

describe('a failing blob store', () => {
  let running: Running | undefined
  afterAll(async () => {
    await running?.close()
    for (const undo of immutable) await undo()
  })
  const start = async (dataDir?: string) =>
    (running = await startCoordinator({
      storageRetry: { firstMs: 50, maxMs: 200 },
      ...(dataDir ? { dataDir } : {}),
    }))

  it('holds the round until the store takes its model: /healthz degraded, the task not failed, no round lost, and a restart carries on', async () => {
    const { url, admin, dataDir } = await start()
    const at = () => running!.url
    const blobDir = join(dataDir, 'blobs')
    const task = await admin.createTask(spec)
    const devices = [await device(at), await device(at)]
    const roundOf = async (n: number) => (await admin.rounds(task.id))[n - 1]
    const trainAll = async () => Promise.all(devices.map((d) => d.train()))

    expect(await trainAll()).toEqual([
      { round: 1, answer: 'accepted' },
      { round: 1, answer: 'accepted' },
    ])
    await waitFor(async () => ((await roundOf(1))?.status === 'committed' ? true : undefined))

    // Round 2's updates are accepted, then its model cannot be stored.
    const denied = await denyWrites(blobDir)
    console.log(`blob writes denied by ${denied.how}`)
    await expect(writeFile(join(blobDir, 'probe'), 'x')).rejects.toThrow()
    expect(await trainAll()).toEqual([
      { round: 2, answer: 'accepted' },
      { round: 2, answer: 'accepted' },
    ])
    const degraded = await waitFor(async () => {
      const h = await health(url)
      return h.body.status === 'degraded' && h.body.failing[0]!.attempts >= 3 ? h : undefined
    })
    expect(degraded.status).toBe(503)
    expect(degraded.body).toMatchObject({
      failing: [
        {
          what: `blob store: task ${task.id} round 2`,
          since: expect.stringMatching(/^\d{4}-/) as string,
        },
      ],
    })
    const held = await admin.task(task.id)
    expect(held.status).toBe('running')
    expect(held.error).toMatch(/^round 2 is waiting to be committed: storing its model failed/)
    expect(held.committedRounds).toBe(1)
    expect((await roundOf(2))?.status).toBe('open')

    // The store takes writes again: round 2 commits, from the updates accepted before.
    await denied.undo()
    const round2 = await waitFor(async () => {
      const r = await roundOf(2)
      return r?.status === 'committed' ? r : undefined
    })
    expect(round2).toMatchObject({ reported: 2, examples: 64 })
    expect(await health(url)).toEqual({ status: 200, body: { status: 'ok' } })
    const after = await admin.task(task.id)
    expect(after).toMatchObject({
      status: 'running',
      committedRounds: 2,
      model: { hash: round2.model },
    })
    expect(after.error).toBeUndefined()
    expect(await readdir(blobDir)).toContain(round2.model)

    // Round 3 is held when the coordinator stops: the stop does not fail the task, and a
    // restart re-opens round 3 and carries on.
    const deniedAgain = await denyWrites(blobDir)
    expect(await trainAll()).toEqual([
      { round: 3, answer: 'accepted' },
      { round: 3, answer: 'accepted' },
    ])
    await waitFor(async () => ((await health(url)).status === 503 ? true : undefined))
    await running!.close()
    running = undefined
    await deniedAgain.undo()
    const restarted = await start(dataDir)
    const resumed = await restarted.admin.task(task.id)
    expect(resumed).toMatchObject({ status: 'running', committedRounds: 2, round: 3 })
    expect(resumed.error).toBeUndefined()
    expect((await trainAll()).map((a) => a.answer)).toEqual(['accepted', 'accepted'])
    const done = await waitFor(async () => {
      const t = await restarted.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    const rounds = await restarted.admin.rounds(task.id)
    expect(rounds.map((r) => [r.round, r.status])).toEqual([
      [1, 'committed'],
      [2, 'committed'],
      [3, 'committed'],
    ])
    let current = task.model.hash
    for (const r of rounds) {
      expect(r.baseModel).toBe(current)
      current = r.model!
    }
    expect(done.model.hash).toBe(current)
  })

  it('resumes a task an older coordinator failed for a storage error (PATCH running)', async () => {
    await running?.close()
    const first = await start()
    const task = await first.admin.createTask(spec)
    await first.close()
    running = undefined
    // What the coordinator before this fix stored when a blob write failed at a round's close.
    const store = await pgliteStore(join(first.dataDir, 'db'))
    await store.closeRound({
      round: { taskId: task.id, round: 1, status: 'abandoned', closedAt: Date.now() },
      task: {
        status: 'failed',
        error:
          "round 1 could not be committed: Error: EPERM: operation not permitted, open '…/blobs/.tmp-…'",
      },
    })
    await store.close()

    const { admin } = await start(first.dataDir)
    expect((await admin.task(task.id)).status).toBe('failed')
    const patched = await admin.call(`/api/v1/tasks/${task.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ status: 'running' }),
    })
    expect(patched.status).toBe(200)
    const resumed = (await patched.json()) as TaskView
    expect(resumed).toMatchObject({ status: 'running', round: 2, committedRounds: 0 })
    expect(resumed.error).toBeUndefined()
    const devices = [await device(() => running!.url), await device(() => running!.url)]
    expect(await Promise.all(devices.map((d) => d.train()))).toEqual([
      { round: 2, answer: 'accepted' },
      { round: 2, answer: 'accepted' },
    ])
    await waitFor(async () =>
      (await admin.task(task.id)).committedRounds === 1 ? true : undefined,
    )
    const rounds = await admin.rounds(task.id)
    expect(rounds.slice(0, 2).map((r) => r.status)).toEqual(['abandoned', 'committed'])
  })
})
