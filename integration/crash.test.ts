import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { useBackend } from '../shared/tf/index.ts'
import { loadMnist } from '../data/mnist-file.ts'
import { localTrainer } from '../client/device/index.ts'
import { simulate } from '../client/simulator/simulate.ts'
import { adminClient, freePort, healthy, startChild, waitFor } from './harness.ts'

describe('crash recovery', () => {
  const children: ChildProcess[] = []
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')))

  const output: string[] = []
  it('survives SIGKILL during round 3: all rounds complete, contiguous, checkpoints verify', async () => {
    await useBackend('wasm')
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const dataDir = await mkdtemp(join(tmpdir(), 'pollen-crash-'))
    children.push(startChild(port, dataDir, output))
    await waitFor(healthy(url), 90_000, 'the coordinator to start')
    const admin = adminClient(url)
    const task = await admin.createTask({
      name: 'crash: six rounds',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
      rounds: { total: 6, clientsPerRound: 3, minReports: 3, overSelect: 1, deadlineSeconds: 30 },
    })

    const { train } = await loadMnist()
    const simulation = simulate({
      server: url,
      clients: 3,
      partition: 'iid',
      examples: train,
      trainer: localTrainer(),
    })
    simulation.catch(() => undefined) // awaited below; keep an early failure from going unhandled

    await waitFor(
      async () => {
        const round3 = (await admin.rounds(task.id))[2]
        return round3?.status === 'open' && round3.reported >= 1 ? true : undefined
      },
      90_000,
      'round 3 to be under way',
    )
    children[0]!.kill('SIGKILL')
    await new Promise((r) => children[0]!.once('exit', r))

    children.push(startChild(port, dataDir, output))
    await waitFor(healthy(url), 90_000, 'the coordinator to restart')
    await simulation
    const done = await waitFor(
      async () =>
        (await admin.task(task.id)).status === 'completed' ? admin.task(task.id) : undefined,
      60_000,
      'the task to complete',
    )
    expect(done.committedRounds).toBe(6)

    const rounds = await admin.rounds(task.id)
    expect(rounds.map((r) => r.round)).toEqual(rounds.map((_, i) => i + 1))
    const committed = rounds.filter((r) => r.status === 'committed')
    expect(committed).toHaveLength(6)
    expect(rounds.every((r) => r.status !== 'open')).toBe(true)
    // The model chain is unbroken: every round starts from the last committed model.
    let current = task.model.hash
    for (const r of rounds) {
      expect(r.baseModel).toBe(current)
      if (r.status === 'committed') current = r.model!
    }
    expect(done.model.hash).toBe(current)
    // Every checkpoint file is whole: its name is the SHA-256 of its bytes; no temporaries.
    const blobDir = join(dataDir, 'blobs')
    const files = await readdir(blobDir)
    expect(files.filter((f) => f.startsWith('.tmp-'))).toEqual([])
    for (const hash of [task.model.hash, ...committed.map((r) => r.model!)]) {
      expect(files).toContain(hash)
      const bytes = await readFile(join(blobDir, hash))
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(hash)
    }
    expect(output.join('')).toContain('was open at shutdown; re-opened')
  })
})
