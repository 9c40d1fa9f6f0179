import type { ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HOSTILE_TOPOLOGIES, mlp } from '../shared/models/topology-cases.ts'
import {
  adminClient,
  freePort,
  startChild,
  startCoordinator,
  waitFor,
  type Running,
} from './harness.ts'

const PURPOSE = 'Train a digit reader; only weight updates leave the phone.'

type ErrorBody = { error: { code: string; message: string; issues: { field: string }[] } }

/** POSTs a task with a custom topology; a coordinator that blocks fails this after `ms`. */
function postCustom(url: string, topology: object, ms = 15_000): Promise<Response> {
  return adminClient(url).call('/api/v1/tasks', {
    method: 'POST',
    body: JSON.stringify({
      name: 'hostile',
      purpose: PURPOSE,
      model: { preset: 'custom', topology },
    }),
    signal: AbortSignal.timeout(ms),
  })
}

/** How long /healthz takes to answer ok (failing past `ms`). */
async function healthzMs(url: string, ms = 2_000): Promise<number> {
  const started = performance.now()
  const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(ms) })
  expect(await response.json()).toEqual({ status: 'ok' })
  return performance.now() - started
}

async function presetTaskWorks(url: string): Promise<void> {
  const task = await adminClient(url).createTask({
    name: 'after',
    purpose: PURPOSE,
    model: { preset: 'mnist-2nn' },
  })
  expect(task.model.parameters).toBe(199_210)
}

// The coordinator in a process of its own (as `npm start` runs it), so that one that loops or
// blocks shows as a request that times out, not as a test run that hangs.
describe('a hostile custom model is refused before it is built', () => {
  let child: ChildProcess
  let url: string
  const output: string[] = []
  beforeAll(async () => {
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    child = startChild(port, await mkdtemp(join(tmpdir(), 'pollen-hostile-')), output)
    await waitFor(
      () =>
        fetch(`${url}/healthz`)
          .then((r) => (r.ok ? true : undefined))
          .catch(() => undefined),
      90_000,
      'the coordinator to start',
    )
  })
  afterAll(() => void child.kill('SIGKILL'))

  it.each(HOSTILE_TOPOLOGIES)(
    'refuses $what with a 400 naming model.topology; the coordinator stays well',
    async ({ topology, refusal }) => {
      const started = performance.now()
      const response = await postCustom(url, topology)
      expect(response.status, output.join('')).toBe(400)
      const { error } = (await response.json()) as ErrorBody
      expect(error.code).toBe('invalid_model')
      expect(error.issues.map((i) => i.field)).toEqual(['model.topology'])
      expect(error.message).toMatch(refusal)
      // Refused by the check, not after a build.
      expect(performance.now() - started).toBeLessThan(2_000)
      expect(await healthzMs(url)).toBeLessThan(1_000)
      await presetTaskWorks(url)
    },
  )
})

describe('a custom model that passes the check is built off the event loop, with a time bound', () => {
  let running: Running
  beforeAll(async () => {
    // A budget raised far past what a phone holds, so that huge models reach the builder.
    running = await startCoordinator({
      models: { budget: { maxParameters: 1e10, maxActivations: 1e10 }, buildTimeoutMs: 1_000 },
    })
  })
  afterAll(() => running.close())

  it('stops a build that runs past its time; meanwhile and after, the coordinator answers', async () => {
    // 78.5 M parameters: seconds of random draws on the builder's thread.
    const slow = postCustom(running.url, mlp(100_000))
    await new Promise((r) => setTimeout(r, 300))
    expect(await healthzMs(running.url)).toBeLessThan(500)
    const response = await slow
    expect(response.status).toBe(400)
    const { error } = (await response.json()) as ErrorBody
    expect(error.issues.map((i) => i.field)).toEqual(['model.topology'])
    expect(error.message).toMatch(/building the model took more than 1 s, so it was stopped/)
    await presetTaskWorks(running.url)
    expect((await postCustom(running.url, mlp(16))).status).toBe(201)
  })

  it('refuses a build that fails, and the next builds, custom and preset, are unharmed', async () => {
    // 1.57 G parameters: more than a typed array may hold, so the build throws on the builder.
    const response = await postCustom(
      running.url,
      mlp(2_000_000, { kernel_initializer: { class_name: 'Zeros', config: {} } }),
    )
    expect(response.status).toBe(400)
    const { error } = (await response.json()) as ErrorBody
    expect(error.issues.map((i) => i.field)).toEqual(['model.topology'])
    expect(error.message).toMatch(/Invalid typed array length/)
    expect(await healthzMs(running.url)).toBeLessThan(500)
    await presetTaskWorks(running.url)
    const custom = await postCustom(running.url, mlp(16))
    expect(custom.status).toBe(201)
    expect(((await custom.json()) as { model: { parameters: number } }).model.parameters).toBe(
      784 * 16 + 16 + 16 * 10 + 10,
    )
  })
})
