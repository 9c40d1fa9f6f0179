// b-bit secure aggregation over real HTTP (issue 18): devices running client/device's secure
// session quantize their updates onto the round's shared grid before masking, send words of
// b + ⌈log₂ n⌉ bits, and the coordinator unmasks the mean of the quantized updates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSecureSession, type SecureOutcome } from '../client/device/secure.ts'
import { mulberry32 } from '../shared/data/random.ts'
import { type Assignment, PROTOCOL_VERSION } from '../shared/protocol/index.ts'
import {
  decodeMaskedUpdate,
  dequantizeRing,
  encodeMaskedUpdate,
  maskedBits,
  ringErrorBound,
} from '../shared/secagg/index.ts'
import { decodeContainer, type NamedTensor } from '../shared/tensors/index.ts'
import { type Running, startCoordinator, waitFor } from './harness.ts'
import { mnist2nnShapes } from './secure-devices.ts'

const DEVICES = 5

describe('b-bit secure aggregation over HTTP', () => {
  let running: Running
  let shapes: ReturnType<typeof mnist2nnShapes> = []
  beforeAll(async () => {
    running = await startCoordinator()
    shapes = mnist2nnShapes()
  })
  afterAll(() => running.close())

  /** A device enrolled and checked in: its assignment, and its authenticated request. */
  async function joined(taskId: string) {
    const enrolled = await fetch(`${running.url}/api/v1/devices`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
    })
    const { token, deviceId } = (await enrolled.json()) as { token: string; deviceId: string }
    const auth = { Authorization: `Bearer ${token}` }
    const checkin = await fetch(`${running.url}/api/v1/devices/checkin`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        protocolVersion: PROTOCOL_VERSION,
        capabilities: { backend: 'wasm' },
        datasets: [{ name: 'mnist', examples: 10, labels: [10] }],
        consents: [taskId],
      }),
    })
    const assignment = (await checkin.json()) as Assignment
    expect(assignment.type).toBe('assignment')
    const request = (path: string, init: RequestInit) =>
      fetch(`${running.url}${path}`, { ...init, headers: { ...init.headers, ...auth } })
    return { deviceId, assignment, request }
  }

  /** A delta of mnist-2nn's shapes with L2 norm `norm`, entries drawn from `seed`. */
  function delta(seed: number, norm: number): NamedTensor[] {
    const random = mulberry32(seed)
    const tensors = shapes.map(({ name, shape }) => ({
      name,
      shape,
      dtype: 'float32' as const,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5),
    }))
    const total = Math.sqrt(tensors.reduce((s, t) => s + t.data.reduce((a, v) => a + v * v, 0), 0))
    for (const t of tensors) t.data.forEach((v, i) => (t.data[i] = (v * norm) / total))
    return tensors
  }

  const flat = (tensors: NamedTensor[]) => {
    const out = new Float64Array(tensors.reduce((s, t) => s + t.data.length, 0))
    let k = 0
    for (const t of tensors) for (const v of t.data) out[k++] = v
    return out
  }
  const distance = (a: Float64Array, b: Float64Array) =>
    Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0))

  /**
   * A device's request that sends its masked frame as 32-bit words, as a float32 round's would
   * be: the answers it got are kept in `seen`.
   */
  const widened =
    (request: (path: string, init: RequestInit) => Promise<Response>, seen: Response[]) =>
    async (path: string, init: RequestInit) => {
      if (!(init.body instanceof Uint8Array)) return request(path, init)
      const frame = decodeMaskedUpdate(init.body, { expectedBits: 5 })
      const wide = encodeMaskedUpdate({ metadata: frame.metadata, masked: frame.masked })
      const response = await request(path, { ...init, body: wide as Uint8Array<ArrayBuffer> })
      seen.push(response.clone())
      return response
    }

  it('unmasks the mean of the devices’ quantized updates, within its bound of the true mean, in fewer bytes', async () => {
    const task = await running.admin.createTask({
      name: 'secure, 2 bits',
      purpose: 'Train a digit reader; only weight updates leave the phone.',
      model: { preset: 'mnist-2nn' },
      secureAggregation: true,
      compression: { uploads: ['bbit2'] },
      // Six selected; the sixth sends 32-bit words and is refused, so five reports close it.
      rounds: {
        total: 1,
        clientsPerRound: DEVICES,
        minReports: 3,
        overSelect: 1.2,
        deadlineSeconds: 60,
      },
    })
    const all = await Promise.all(Array.from({ length: DEVICES + 1 }, () => joined(task.id)))
    const deltas = all.map((_, i) => delta(i + 1, 0.5 + 0.1 * i))
    const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
    const refused: Response[] = []
    const bad = all[DEVICES]!
    const [outcomes, wide]: [SecureOutcome[], SecureOutcome] = await Promise.all([
      Promise.all(
        all.slice(0, DEVICES).map(({ deviceId, assignment, request }, i) =>
          startSecureSession({
            assignment,
            deviceId,
            request,
            pause,
            random: mulberry32(100 + i),
          }).submit(deltas[i]!, { examples: 10, steps: 1, baseModel: assignment.model.hash }),
        ),
      ),
      startSecureSession({ ...bad, request: widened(bad.request, refused), pause }).submit(
        deltas[DEVICES]!,
        { examples: 10, steps: 1, baseModel: bad.assignment.model.hash },
      ),
    ])
    for (const o of outcomes) expect(o).toMatchObject({ outcome: 'done' })
    // Words of the wrong width: refused naming the part, and nothing of it summed.
    expect(wide.outcome).toBe('dropped')
    expect(refused.map((r) => r.status)).toEqual([422])
    expect(JSON.stringify(await refused[0]!.json())).toContain('"bits"')

    const [closed] = await waitFor(async () => {
      const rounds = await running.admin.rounds(task.id)
      return rounds[0]?.status !== 'open' ? rounds : undefined
    }, 60_000)
    expect(closed).toMatchObject({ status: 'committed', reported: DEVICES })
    const weights = async (hash: string) =>
      flat(
        decodeContainer(
          new Uint8Array(await (await running.admin.call(`/api/v1/models/${hash}`)).arrayBuffer()),
        ).tensors,
      )
    const [before, after] = [await weights(closed!.baseModel), await weights(closed!.model!)]
    const committed = after.map((v, i) => v - before[i]!)
    const length = committed.length

    // What the devices' words stood for: the mean of their quantized (dequantized) updates.
    const quantized = new Float64Array(length)
    const truth = new Float64Array(length)
    for (const [i, o] of outcomes.entries()) {
      const ring = o.ring!
      expect(ring.config).toMatchObject({ bits: 2, participants: DEVICES + 1, range: 1 })
      expect(ring.clamped).toBe(0)
      const settings = { bits: 2, seed: ring.config.seed!, range: ring.config.range }
      dequantizeRing(ring.indices, length, settings).forEach(
        (v, k) => (quantized[k]! += v / DEVICES),
      )
      flat(deltas[i]!).forEach((v, k) => (truth[k]! += v / DEVICES))
    }
    // Equal but for the float32 model's own rounding (weights near 0.1: ulp ~ 1e-8).
    let worst = 0
    for (let k = 0; k < length; k++)
      worst = Math.max(worst, Math.abs(committed[k]! - quantized[k]!))
    expect(worst).toBeLessThan(1e-6)
    // Nothing clamped: each rotated entry of the mean is off by under one step, Δ.
    expect(distance(committed, truth)).toBeLessThan(ringErrorBound(length, 2, 1))

    // Words of 2 + ⌈log₂ 6⌉ = 5 bits: the whole round's bytes up (keys, shares, masked words,
    // reveals) are under a fifth of float32's masked input alone.
    expect(maskedBits(outcomes[0]!.ring!.config)).toBe(5)
    for (const o of outcomes) expect(o.bytes).toBeLessThan((4 * length) / 5)
  }, 120_000)
})
