// Secure aggregation across replicas: three real coordinator processes on one fresh PostgreSQL
// database, and devices running SecAgg+ (client/device, the phone app's protocol code) whose
// every request goes to the next replica in turn, as a round-robin load balancer sends them.
// The sum unmasks to the survivors' mean even so, a masked input accepted by a replica that
// is then killed still counts, and a task with distributed differential privacy (each device
// adds its share of the noise) commits with the ε one process would count, on every replica.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Assignment, PROTOCOL_VERSION, type TaskSpecInput } from '../shared/protocol/index.ts'
import { createSecAggClient, encodeMaskedUpdate } from '../shared/secagg/index.ts'
import { useBackend } from '../shared/tf/index.ts'
import { spendRound } from '../server/privacy/budget.ts'
import { freshDatabase, type FreshDatabase } from '../server/store/testing-pg.ts'
import { adminClient, waitFor } from './harness.ts'
import { type Replica, replicaSet } from './replica-set.ts'
import { distanceFromMean, mnist2nnShapes, secureDevices } from './secure-devices.ts'

let db: FreshDatabase
const { startAll, alive, owner, kill9 } = replicaSet()
let SHAPES: ReturnType<typeof mnist2nnShapes> = []

const admin = () => adminClient(alive()[0]!.url)

/** Which replicas took each kind of secure call (keys, shares, reveal, upload). */
const servedBy = new Map<string, Set<string>>()

const UPLOAD = /\/rounds\/\d+\/updates$/

interface Balancing {
  /** Where uploads go (default: in turn, as every other call). */
  uploadTo?: () => Replica
  /** Runs before an upload is sent on. */
  beforeUpload?: () => Promise<void>
  /** Hears each upload's response before the device does. */
  answered?: (target: Replica, response: Response) => Promise<void>
}

/**
 * A load balancer in the devices' fetch: each kind of request to the next live replica in turn
 * (so that a round's keys, shares, reveals and uploads each spread over all of them).
 */
function roundRobin({ uploadTo, beforeUpload, answered }: Balancing = {}): typeof fetch {
  const turns = new Map<string, number>()
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    const upload = UPLOAD.test(url.pathname) && init?.method === 'POST'
    if (upload) await beforeUpload?.()
    const kind =
      /\/secagg\/(keys|shares|reveal)$/.exec(url.pathname)?.[1] ?? (upload ? 'upload' : null)
    const targets = alive()
    const turn = turns.get(kind ?? 'other') ?? 0
    turns.set(kind ?? 'other', turn + 1)
    const target = (upload ? uploadTo?.() : undefined) ?? targets[turn % targets.length]!
    url.host = new URL(target.url).host
    if (kind) servedBy.set(kind, (servedBy.get(kind) ?? new Set<string>()).add(target.url))
    const response = await fetch(url, init)
    if (upload) await answered?.(target, response)
    return response
  }
}

const spec = (name: string, clientsPerRound: number, overSelect: number): TaskSpecInput => ({
  name,
  purpose: 'Train a digit reader on three replicas; only masked updates leave the phone.',
  model: { preset: 'mnist-2nn' },
  secureAggregation: true,
  rounds: { total: 1, clientsPerRound, minReports: 3, overSelect, deadlineSeconds: 60 },
})

/** `values.length` devices take part in the task's one round; those in `drop` vanish after sharing. */
async function round(
  taskId: string,
  values: number[],
  drop: Set<number>,
  fetch: typeof globalThis.fetch,
) {
  const { devices, events } = await secureDevices({
    server: alive()[0]!.url,
    fetch,
    shapes: () => SHAPES,
    values,
    drop,
  })
  // Until every replica has seen the round open (the owner opens it, the others poll).
  const assignments = await Promise.all(
    devices.map((d) =>
      waitFor(
        async () => {
          const a = await d.checkin()
          return a.type === 'assignment' ? a : undefined
        },
        30_000,
        'an assignment',
      ),
    ),
  )
  await Promise.all(devices.map((d, i) => d.work(assignments[i] as Parameters<typeof d.work>[0])))
  const closed = await waitFor(
    async () => {
      const rounds = await admin().rounds(taskId)
      return rounds[0] && rounds[0].status !== 'open' ? rounds[0] : undefined
    },
    90_000,
    'the secure round to close',
  )
  return { closed, events }
}

beforeAll(async () => {
  db = await freshDatabase('secure_replicas')
  await startAll(db.url, 3)
  await useBackend('wasm')
  SHAPES = mnist2nnShapes()
}, 180_000)

afterAll(async () => {
  for (const r of alive()) await kill9(r)
  await db.drop()
})

describe('secure aggregation across replicas', () => {
  it('unmasks the survivors’ mean when every device’s messages go to different replicas', async () => {
    servedBy.clear()
    const task = await admin().createTask(spec('secure on replicas', 5, 1.2))
    const values = [0.001, 0.002, 0.003, 0.004, 0.005, 0.006]
    const { closed, events } = await round(task.id, values, new Set([5]), roundRobin())
    expect(closed).toMatchObject({ status: 'committed', reported: 5 })
    for (const i of [0, 1, 2, 3, 4])
      expect(events[i]!.find((e) => e.type === 'secure')).toMatchObject({ outcome: 'done' })
    // Each kind of message reached every replica: no replica saw the whole round.
    for (const kind of ['keys', 'shares', 'reveal', 'upload'])
      expect([kind, servedBy.get(kind)?.size]).toEqual([kind, 3])
    const mean = (0.001 + 0.002 + 0.003 + 0.004 + 0.005) / 5
    expect(await distanceFromMean(admin().call, closed, mean)).toBeLessThan(1e-6)
  }, 120_000)

  it('answers out-of-turn and bad SecAgg+ calls alike on every replica, naming the field, writing nothing', async () => {
    const task = await admin().createTask(spec('secure, hostile calls', 3, 1))
    const [a, b, c] = alive() as [Replica, Replica, Replica]
    const enrol = async () => {
      const response = await fetch(`${a.url}/api/v1/devices`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
      })
      const { token } = (await response.json()) as { token: string }
      return { Authorization: `Bearer ${token}` }
    }
    const checkin = (auth: Record<string, string>) =>
      waitFor(async () => {
        const response = await fetch(`${a.url}/api/v1/devices/checkin`, {
          method: 'POST',
          headers: { ...auth, 'Content-Type': 'application/json' },
          body: JSON.stringify({
            protocolVersion: PROTOCOL_VERSION,
            capabilities: { backend: 'wasm' },
            datasets: [{ name: 'mnist', examples: 10, labels: [10] }],
          }),
        })
        const answer = (await response.json()) as Assignment | { type: 'retry' }
        return answer.type === 'assignment' ? answer : undefined
      }, 30_000)
    const [early, chosen, outsider] = [await enrol(), await enrol(), await enrol()]
    const [first, assignment] = [await checkin(early), await checkin(chosen)]
    const path = assignment.secureAggregation!.url
    const post = (at: Replica, auth: Record<string, string>, call: string, body: unknown) =>
      fetch(`${at.url}${path}/${call}`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      })
    const error = async (response: Response) => [
      response.status,
      ((await response.json()) as { error: { code: string } }).error.code,
    ]
    const logged = async () => {
      const client = new pg.Client({ connectionString: db.url })
      await client.connect()
      const { rows } = await client.query<{ call: string }>(
        'select call from secagg_log where task_id = $1 order by seq',
        [task.id],
      )
      await client.end()
      return rows.map((r) => r.call)
    }

    // Before any device advertised: shares are 404 on any replica, a masked frame is out of turn.
    expect(await error(await post(b, chosen, 'shares', { shares: [] }))).toEqual([404, 'not_found'])
    const words = SHAPES.reduce((n, t) => n + t.shape.reduce((x, y) => x * y, 1), 0)
    const frame = encodeMaskedUpdate({
      metadata: { baseModel: first.model.hash, examples: 5, steps: 1 },
      masked: new Uint32Array(words),
    })
    const upload = await fetch(`${c.url}${first.uploadUrl}`, {
      method: 'POST',
      headers: { ...early, 'Content-Type': 'application/octet-stream' },
      body: frame as Uint8Array<ArrayBuffer>,
    })
    expect(await upload.json()).toMatchObject({ type: 'rejected', field: 'stage' })
    expect(await logged()).toEqual([])

    // Keys: malformed, from a device not selected, then twice from a selected one.
    const keys = (await createSecAggClient('chosen')).keys()
    const bad = await post(b, chosen, 'keys', { encryptionKey: 'AAAA', maskKey: 'AAAA' })
    expect(await error(bad)).toEqual([422, 'invalid'])
    expect(await error(await post(c, outsider, 'keys', keys))).toEqual([409, 'not_selected'])
    expect((await post(b, chosen, 'keys', keys)).status).toBe(200)
    expect(await error(await post(c, chosen, 'keys', keys))).toEqual([409, 'duplicate'])
    expect(await logged()).toEqual(['begin', 'advertise'])
    // Every replica now tells the device it waits for the others.
    for (const at of [a, b, c]) {
      const view = await fetch(`${at.url}${path}`, { headers: chosen })
      expect(await view.json()).toMatchObject({ stage: 'advertise', waiting: true })
    }
    // Its open round would take the next tests' devices.
    expect((await admin().call(`/api/v1/tasks/${task.id}`, { method: 'DELETE' })).ok).toBe(true)
  }, 60_000)
  it('commits a distributed-DP round: the devices add the noise, ε as one process counts it, the same on every replica', async () => {
    const privacy = { mode: 'distributed' as const, clipNorm: 10, noiseMultiplier: 0.5 }
    const task = await admin().createTask({
      ...spec('distributed DP on replicas', 4, 1),
      privacy: { ...privacy, delta: 1e-5, epsilonBudget: 1000, population: 100 },
    })
    const { closed } = await round(task.id, [0.01, 0.02, 0.03, 0.04], new Set(), roundRobin())
    const spent = spendRound(null, { ...privacy, delta: 1e-5 }, 4 / 100).epsilon
    expect(closed).toMatchObject({ status: 'committed', reported: 4 })
    expect(closed.epsilon).toBeCloseTo(spent, 9)
    // The devices' noise is in the sum (σ·C/√3 each): far from the plain mean.
    expect(await distanceFromMean(admin().call, closed, 0.025)).toBeGreaterThan(0.1)
    for (const r of alive()) {
      const view = await waitFor(
        async () => {
          const t = await adminClient(r.url).task(task.id)
          return t.epsilonSpent ? t : undefined
        },
        10_000,
        `${r.url} to show ε`,
      )
      expect(view.epsilonSpent).toBeCloseTo(spent, 9)
    }
  }, 120_000)

  it('counts the masked inputs a replica accepted before it was killed (kill -9, not the owner)', async () => {
    const task = await admin().createTask(spec('secure, a replica dies', 4, 1))
    const owning = await waitFor(() => owner(task.id), 30_000, 'an owner')
    const victim = alive().find((r) => r !== owning)!
    // Every upload goes to the victim, killed as soon as it has accepted the last of them: before
    // its partial sum is written, so the owner must read its spooled masked inputs instead.
    let accepted = 0
    const fetch = roundRobin({
      uploadTo: () => victim,
      answered: async (target, response) => {
        const answer = (await response.clone().json()) as { type: string }
        if (target !== victim || answer.type !== 'accepted' || ++accepted < 4) return
        await kill9(victim)
      },
    })
    const values = [0.01, 0.02, 0.03, 0.04]
    const { closed } = await round(task.id, values, new Set(), fetch)
    expect([accepted, victim.child.signalCode, closed.status]).toEqual([4, 'SIGKILL', 'committed'])
    // The owner summed the dead replica's masked inputs from its spool.
    expect(owning.output.join('')).toMatch(
      new RegExp(`task ${task.id} round 1: reading the spooled updates of `),
    )
    expect(closed).toMatchObject({ status: 'committed', reported: 4 })
    expect(
      await distanceFromMean(admin().call, closed, (0.01 + 0.02 + 0.03 + 0.04) / 4),
    ).toBeLessThan(1e-6)
  }, 120_000)

  it('carries a secure round on when its owner is killed (kill -9) between sharing and collecting', async () => {
    const task = await admin().createTask(spec('secure, the owner dies', 4, 1))
    const first = await waitFor(() => owner(task.id), 30_000, 'an owner')
    // The owner dies as the first masked input is sent: keys and shares went to it and to the
    // other replica; the log in the database holds them all.
    const fetch = roundRobin({
      beforeUpload: async () => {
        if (first.child.exitCode === null && first.child.signalCode === null) await kill9(first)
      },
    })
    const values = [0.01, 0.02, 0.03, 0.04]
    const { closed } = await round(task.id, values, new Set(), fetch)
    const second = owner(task.id)
    expect(second).toBeDefined()
    expect(second).not.toBe(first)
    expect(closed).toMatchObject({ round: 1, status: 'committed', reported: 4 })
    expect(
      await distanceFromMean(admin().call, closed, (0.01 + 0.02 + 0.03 + 0.04) / 4),
    ).toBeLessThan(1e-6)
  }, 120_000)
})
