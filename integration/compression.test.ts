import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Assignment, plannedSteps, type RoundView } from '../shared/protocol/index.ts'
import {
  type Codec,
  decodeContainer,
  decodeContainerHeader,
  encodeContainer,
  type NamedTensor,
} from '../shared/tensors/index.ts'
import { createVirtualClock } from '../server/clock/index.ts'
import { startCoordinator, waitFor, type Running } from './harness.ts'
import { rawDevice } from './raw-device.ts'

// Compressed uploads end to end (issue 18): a task that accepts int8 and 1-bit updates runs to
// completion with protocol-level devices on different codecs, and refuses what it does not accept.

const purpose = 'Train a digit reader; only compressed weight updates leave the phone.'
const EXAMPLES = 600
type Device = Awaited<ReturnType<typeof rawDevice>>

describe('compressed uploads', () => {
  const clock = createVirtualClock(Date.now())
  let running: Running
  beforeAll(async () => {
    running = await startCoordinator({ clock })
  })
  afterAll(() => running.close())

  const modelOf = async (hash: string, device: Device) =>
    decodeContainer(
      new Uint8Array(
        await (
          await fetch(`${running.url}/api/v1/models/${hash}`, {
            headers: { Authorization: `Bearer ${device.token}` },
          })
        ).arrayBuffer(),
      ),
    ).tensors
  const roundOf = async (taskId: string, n: number): Promise<RoundView | undefined> =>
    (await running.admin.rounds(taskId)).find((r) => r.round === n)
  const settled = (taskId: string, n: number) =>
    waitFor(async () => {
      const r = await roundOf(taskId, n)
      return r && r.status !== 'open' ? r : undefined
    })
  /** A right-shaped small delta, different for every device and round. */
  const delta = (model: NamedTensor[], seed: number): NamedTensor[] =>
    model.map((w) => ({ ...w, data: w.data.map((_, k) => Math.sin(seed + k * 0.37) * 1e-3) }))
  const metadata = (a: Assignment) => ({
    examples: EXAMPLES,
    steps: plannedSteps(a.plan, EXAMPLES),
  })
  const createTask = (name: string, total: number, clientsPerRound: number) =>
    running.admin.createTask({
      name,
      purpose,
      model: { preset: 'mnist-2nn' },
      rounds: { total, clientsPerRound, minReports: 1, overSelect: 1, deadlineSeconds: 60 },
      compression: { uploads: ['int8', 'bbit1'] },
    })

  it('runs a task accepting int8 and 1-bit to completion with devices on int8, bbit1 and float32 (refused)', async () => {
    const task = await createTask('int8 and 1-bit', 3, 3)
    expect(task.compression).toEqual({ uploads: ['int8', 'bbit1'], downloads: ['float32'] })
    const devices = await Promise.all([0, 1, 2].map(() => rawDevice(running.url)))
    const initial = await modelOf(task.model.hash, devices[0]!)
    // Round 1: the third device sends float32 and is refused; later it sends 1-bit.
    const codecsOf: Codec[][] = [
      ['int8', 'bbit1', 'float32'],
      ['int8', 'bbit1', 'bbit1'],
      ['bbit1', 'int8', 'bbit1'],
    ]
    for (const [r, codecs] of codecsOf.entries()) {
      const n = r + 1
      const given = await Promise.all(devices.map((d) => d.checkin()))
      expect(given.map((g) => g.type)).toEqual(['assignment', 'assignment', 'assignment'])
      const assignments = given as Assignment[]
      expect(assignments[0]).toMatchObject({
        round: n,
        compression: { uploads: ['int8', 'bbit1'] },
      })
      const model = await modelOf(assignments[0]!.model.hash, devices[0]!)
      const answers = await Promise.all(
        devices.map((d, i) =>
          d.upload(assignments[i]!, delta(model, 10 * n + i), metadata(assignments[i]!), {
            codec: codecs[i]!,
          }),
        ),
      )
      codecs.forEach((codec, i) => {
        if (codec === 'float32')
          expect(answers[i]).toEqual({
            status: 422,
            answer: {
              type: 'rejected',
              round: n,
              field: 'codec',
              message: 'this task accepts uploads in int8, bbit1, not float32',
            },
          })
        else expect(answers[i]).toMatchObject({ status: 200, answer: { type: 'accepted' } })
      })
      if (codecs.includes('float32')) clock.advance(60_000) // the refused one never reports
      const round = await settled(task.id, n)
      const reported = codecs.filter((c) => c !== 'float32').length
      expect(round).toMatchObject({ status: 'committed', reported, rejected: 3 - reported })
      // int8 is about 1 byte an entry and 1-bit about 1/8: well under float32's 4 bytes each.
      expect(round.bytesUp).toBeLessThan(
        (codecs.includes('float32') ? task.model.updateBytes : 0) +
          0.35 * reported * task.model.updateBytes,
      )
      // By codec, accepted and refused alike: every codec sent is there, and they add up.
      const byCodec = round.bytesUpByCodec
      expect(Object.keys(byCodec).sort()).toEqual([...new Set(codecs)].sort())
      expect(Object.values(byCodec).reduce((a, b) => a + b, 0)).toBe(round.bytesUp)
      expect(byCodec.int8!).toBeGreaterThan(
        byCodec.bbit1! / codecs.filter((c) => c === 'bbit1').length,
      )
      // Every device downloaded the float32 model once.
      expect(round.bytesDownByEncoding).toEqual({ float32: round.bytesDown })
      expect(round.bytesDown).toBeGreaterThan(0)
    }
    const done = await waitFor(async () => {
      const t = await running.admin.task(task.id)
      return t.status === 'completed' ? t : undefined
    })
    expect(done.committedRounds).toBe(3)
    const final = await modelOf(done.model.hash, devices[0]!)
    const moved = final.reduce(
      (sum, t, i) => sum + t.data.reduce((s, v, k) => s + Math.abs(v - initial[i]!.data[k]!), 0),
      0,
    )
    expect(moved).toBeGreaterThan(0)
    expect(final.every((t) => t.data.every(Number.isFinite))).toBe(true)
  })

  it('refuses hostile frames naming the part: wrong codec, lengths that disagree, a scale of Infinity', async () => {
    const task = await createTask('hostile frames', 1, 4)
    const devices = await Promise.all([0, 1, 2, 3].map(() => rawDevice(running.url)))
    const assignments = (await Promise.all(devices.map((d) => d.checkin()))) as Assignment[]
    const model = await modelOf(task.model.hash, devices[0]!)
    const encode = (codec: Codec, a: Assignment) =>
      encodeContainer({
        tensors: delta(model, 1),
        metadata: { baseModel: a.model.hash, ...metadata(a) },
        codec,
        seed: 5,
      })
    const int8 = encode('int8', assignments[2]!)
    const payloadStart = decodeContainerHeader(int8).payloadStart
    // The first tensor's first block scale (float32 little-endian) set to +Infinity.
    new DataView(int8.buffer).setFloat32(payloadStart, Infinity, true)
    const hostile: [Uint8Array, string, string][] = [
      [encode('float16', assignments[0]!), 'codec', 'not float16'],
      [encode('int8', assignments[1]!).subarray(0, payloadStart + 1000), 'tensors[0]', 'short'],
      [int8, 'tensors[0]', 'scales.0'],
      [encode('bbit1', assignments[3]!).subarray(0, -1), 'payload', 'short'],
    ]
    const answers = await Promise.all(
      hostile.map(([bytes], i) => devices[i]!.uploadBytes(assignments[i]!, bytes)),
    )
    hostile.forEach(([, field, says], i) => {
      expect(answers[i]).toMatchObject({ status: 422, answer: { type: 'rejected', field } })
      expect((answers[i]!.answer as { message: string }).message).toContain(says)
    })
    clock.advance(60_000)
    // Nothing aggregated: every upload counted as rejected, the round without a model.
    const refused = await settled(task.id, 1)
    expect(refused).toMatchObject({ status: 'abandoned', reported: 0, rejected: 4 })
    // Refused bytes count under the codec their header named.
    expect(Object.keys(refused.bytesUpByCodec).sort()).toEqual(['bbit1', 'float16', 'int8'])
    expect(Object.values(refused.bytesUpByCodec).reduce((a, b) => a + b, 0)).toBe(refused.bytesUp)
  })
})
