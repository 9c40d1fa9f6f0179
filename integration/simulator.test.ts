import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, waitFor, type Running } from './harness.ts'

/** Runs `npm run sim`'s entry point as a user would, collecting its output. */
function sim(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'client/simulator/main.ts', ...args])
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('close', (code) => resolve({ code, output }))
  })
}

describe('npm run sim', () => {
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator()
  })
  afterAll(() => running.close())

  it('refuses bad arguments with a clear message', async () => {
    const bad = await sim(['--server', running.url, '--clients', '0'])
    expect(bad.code).toBe(1)
    expect(bad.output).toContain('--clients must be a whole number from 1 to 1000')
    const partition = await sim(['--server', running.url, '--partition', 'weird'])
    expect(partition.output).toContain('--partition must be iid or noniid')
    const drop = await sim(['--server', running.url, '--drop', '1.5'])
    expect(drop.output).toContain('--drop must be a fraction between 0 and 1')
  })

  it('runs non-IID devices, some slow and some dropping, until the task completes', async () => {
    const task = await running.admin.createTask({
      name: 'simulated',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      train: { optimizer: 'sgd', learningRate: 0.1, batchSize: 32, localEpochs: 1 },
      rounds: { total: 3, clientsPerRound: 4, minReports: 2, overSelect: 1.5, deadlineSeconds: 4 },
    })
    const run = await sim([
      '--server',
      running.url,
      '--clients',
      '8',
      '--partition',
      'noniid',
      '--slow',
      '0.25',
      '--drop',
      '0.2',
    ])
    expect(run.code, run.output).toBe(0)
    expect(run.output).toMatch(/8 devices, [\d.]+ s: \d+ accepted/)
    const done = await waitFor(async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    expect(done.committedRounds).toBe(3)
    const rounds = await running.admin.rounds(task.id)
    expect(rounds.filter((r) => r.status === 'committed')).toHaveLength(3)
    for (const r of rounds) expect(r.selected).toBeLessThanOrEqual(6)
    // Every simulated device trains on wasm; once it trained a round it reports its speed, so
    // later rounds place their devices in speed tiers.
    for (const r of rounds) expect(r.participation.byBackend.wasm.devices).toBe(r.reported)
    const tiered = rounds
      .filter((r) => r.round > 1)
      .some((r) => r.participation.byTier.unknown.devices < r.reported)
    expect(tiered).toBe(true)
  })
})
