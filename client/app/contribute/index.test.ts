import 'fake-indexeddb/auto'
import { afterEach, describe, expect, it } from 'vitest'
import type { Assignment, CheckinRequest, DeviceTaskView } from '../../../shared/protocol/index.ts'
import { encodeContainer } from '../../../shared/tensors/index.ts'
import type { TrainJob } from '../../device/trainer.ts'
import { listHistory } from '../history/index.ts'
import { openPollenDB, type PollenDatabase, replaceExamples } from '../storage/index.ts'
import type { ConditionSignals, ConditionSource } from '../tasks/index.ts'
import { createConsentStore } from '../tasks/index.ts'
import { type ContributionState, loadContributor, loadEnrolment } from './index.ts'

const HASH = 'ab'.repeat(32)
const view = (id: string): DeviceTaskView => ({
  id,
  name: `task ${id}`,
  purpose: 'read digits',
  status: 'running',
  dataset: 'mnist',
  model: { preset: 'mnist-2nn', parameters: 2 },
  updateBytes: 8,
  rounds: { total: 5, committed: 0, deadlineSeconds: 60 },
  privacy: null,
})

/** A coordinator in a function: enrols once, assigns `a` to a check-in naming it. */
function fakeCoordinator() {
  const checkins: CheckinRequest[] = []
  let enrolments = 0
  const uploads: string[] = []
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
  const fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const path = new URL(input).pathname
    await Promise.resolve()
    if (path === '/api/v1/devices') {
      enrolments++
      return json({ type: 'enrolled', deviceId: 'd1', token: 'secret' }, 201)
    }
    if (path === '/api/v1/devices/checkin') {
      const body = JSON.parse(init?.body as string) as CheckinRequest
      checkins.push(body)
      if (body.consents?.includes('a')) {
        const assignment: Assignment = {
          type: 'assignment',
          taskId: 'a',
          round: checkins.length,
          dataset: 'mnist',
          model: { spec: { preset: 'mnist-2nn' }, hash: HASH, url: `/api/v1/models/${HASH}` },
          plan: { optimizer: 'sgd', learningRate: 0.1, batchSize: 2, localEpochs: 1 },
          deadline: new Date(Date.now() + 60_000).toISOString(),
          uploadUrl: `/api/v1/tasks/a/rounds/${checkins.length}/updates`,
        }
        return json(assignment)
      }
      return json({ type: 'none', reason: 'nothing agreed' })
    }
    if (path === '/api/v1/devices/tasks') return json({ tasks: [view('a')] })
    if (path.startsWith('/api/v1/models/')) {
      const tensors = [
        { name: 'w', shape: [2], dtype: 'float32' as const, data: new Float32Array([1, 2]) },
      ]
      return new Response(encodeContainer({ tensors }) as Uint8Array<ArrayBuffer>)
    }
    if (path.endsWith('/updates')) {
      uploads.push(path)
      return json({ type: 'accepted', round: 1, reported: 1 })
    }
    return json({ error: { message: 'no such route' } }, 404)
  }
  return { fetch, checkins, uploads, enrolments: () => enrolments }
}

const signals: ConditionSignals = { charging: null, unmetered: null, visible: true }
const conditions: ConditionSource = { read: () => signals, subscribe: () => () => {} }

let opened: PollenDatabase[] = []
let n = 0
afterEach(() => {
  for (const db of opened) db.close()
  opened = []
})

async function setup() {
  const db = await openPollenDB({ name: `pollen-contribute-test-${n++}` })
  opened.push(db)
  await replaceExamples(db, {
    dataset: 'mnist',
    source: 'demo',
    examples: { count: 2, pixels: new Uint8Array(2 * 784).fill(7), labels: Uint8Array.of(1, 2) },
  })
  return db
}

const until = async (check: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 400 && !(await check()); i++) await new Promise((r) => setTimeout(r, 5))
  expect(await check()).toBe(true)
}

describe('the contribute loop', () => {
  it('enrols once, trains what the owner agreed to, and withdrawing stops the work at once', async () => {
    const db = await setup()
    const coordinator = fakeCoordinator()
    const consents = createConsentStore({ db })
    const jobs: TrainJob[] = []
    let trainFast = true
    const states: ContributionState[] = []
    const contributor = await loadContributor({
      db,
      server: 'http://coordinator.test',
      fetch: coordinator.fetch as typeof globalThis.fetch,
      consents,
      conditions,
      onState: (s) => states.push(s),
      trainer: () =>
        Promise.resolve({
          init: () => Promise.resolve({ backend: 'wasm' as const }),
          train: (
            job: TrainJob & {
              onProgress?: (p: { step: number; totalSteps: number; loss: number }) => void
            },
          ) => {
            jobs.push(job)
            job.onProgress?.({ step: 1, totalSteps: 1, loss: 0.5 })
            if (trainFast)
              return Promise.resolve({
                delta: [
                  { name: 'w', shape: [2], dtype: 'float32' as const, data: new Float32Array(2) },
                ],
                examples: 2,
                steps: 1,
                loss: 0.5,
              })
            // Trains until stopped.
            return new Promise((_, reject) =>
              job.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
            )
          },
        }),
    })
    expect((await contributor.tasks()).map((t) => t.id)).toEqual(['a'])
    expect(await loadEnrolment(db)).toEqual({ deviceId: 'd1', token: 'secret' })

    contributor.start()
    await until(() => states.some((s) => s.type === 'idle'))
    expect(coordinator.checkins).toHaveLength(0) // nothing agreed: no check-in at all

    await consents.join(view('a'))
    await until(() => coordinator.uploads.length > 0)
    expect(coordinator.checkins[0]?.consents).toEqual(['a'])
    expect(states.some((s) => s.type === 'training' && s.progress?.step === 1)).toBe(true)

    trainFast = false
    const before = jobs.length
    await until(() => jobs.length > before)
    await consents.withdraw('a')
    await until(() => jobs.at(-1)?.signal?.aborted === true)
    await until(async () => (await listHistory(db)).some((r) => r.outcome === 'stopped'))
    await contributor.stop()

    const history = await listHistory(db)
    expect(history.some((r) => r.outcome === 'accepted' && r.examples === 2)).toBe(true)
    expect(history[0]).toMatchObject({ outcome: 'stopped', taskId: 'a', backend: 'wasm' })
    expect(coordinator.enrolments()).toBe(1)
  })
})
