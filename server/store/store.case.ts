import { describe, expect, it } from 'vitest'
import { MNIST_DATASET, noParticipation, TaskSpecSchema } from '../../shared/protocol/index.ts'
import type { RoundRecord, Store, TaskRecord } from './types.ts'

const HASH_A = 'a'.repeat(64)
const HASH_B = 'b'.repeat(64)

export const aTask = (id: string, createdAt = 1): TaskRecord => ({
  id,
  spec: TaskSpecSchema.parse({
    name: `task ${id}`,
    purpose: 'Train a digit reader; only weight updates leave the phone.',
    model: { preset: 'mnist-2nn' },
  }),
  status: 'running',
  modelHash: HASH_A,
  round: 0,
  committedRounds: 0,
  createdAt,
  updatedAt: createdAt,
  error: null,
  optimizerState: null,
  privacySpent: null,
  stoppedReason: null,
})

export const aRound = (taskId: string, round: number): RoundRecord => ({
  taskId,
  round,
  status: 'open',
  baseModel: HASH_A,
  model: null,
  selected: 0,
  reported: 0,
  late: 0,
  rejected: 0,
  dropped: 0,
  examples: 0,
  accuracy: null,
  loss: null,
  accuracyByLabel: null,
  confusion: null,
  trainingLoss: null,
  staleness: null,
  epsilon: null,
  updateBounds: null,
  abandonedReason: null,
  startedAt: 10,
  firstAssignedAt: null,
  deadlineAt: null,
  closedAt: null,
  bytesUp: 0,
  bytesDown: 0,
  bytesUpByCodec: {},
  bytesDownByEncoding: {},
  participation: noParticipation(),
})

/** The contract every Store implementation keeps; run it against each (see index.test.ts). */
export function storeSuite(name: string, makeStore: () => Promise<Store>) {
  describe(`store contract: ${name}`, () => {
    it('keeps tasks and patches them', async () => {
      const store = await makeStore()
      await store.insertTask(aTask('t1', 1))
      await store.insertTask(aTask('t2', 2))
      await store.updateTask('t1', { status: 'paused', round: 3, error: 'oops' })
      const t1 = await store.getTask('t1')
      expect(t1).toMatchObject({ status: 'paused', round: 3, error: 'oops', modelHash: HASH_A })
      expect(t1?.spec.rounds.minReports).toBe(5)
      expect((await store.listTasks()).map((t) => t.id)).toEqual(['t1', 't2'])
      expect(await store.getTask('nope')).toBeUndefined()
      await store.close()
    })

    it('reads back a task stored before a purpose was required, and before seeds', async () => {
      const store = await makeStore()
      const { seed: _, ...old } = { ...aTask('old').spec, purpose: '' }
      await store.insertTask({ ...aTask('old'), spec: old })
      expect((await store.getTask('old'))?.spec).toMatchObject({ purpose: '', name: 'task old' })
      expect((await store.getTask('old'))?.spec.seed).toBeUndefined()
      await store.close()
    })

    it('closes a round and moves the task on in one step', async () => {
      const store = await makeStore()
      await store.insertTask(aTask('t1'))
      await store.openRound(aRound('t1', 1))
      await store.closeRound({
        round: {
          taskId: 't1',
          round: 1,
          status: 'committed',
          model: HASH_B,
          accuracy: 0.9,
          accuracyByLabel: [1, 0.8125, null, 0.1 + 0.2],
          confusion: [
            [3, 1],
            [0, 4],
          ],
          trainingLoss: 0.1 + 0.2,
          staleness: [2, 0, 1],
          epsilon: 0.75,
          closedAt: 20,
        },
        task: {
          modelHash: HASH_B,
          committedRounds: 1,
          optimizerState: HASH_A,
          privacySpent: { rdp: [0.5, 0.25], epsilon: 0.75 },
          stoppedReason: 'the privacy budget',
        },
      })
      expect((await store.listRounds('t1'))[0]).toMatchObject({
        status: 'committed',
        model: HASH_B,
        accuracy: 0.9,
        accuracyByLabel: [1, 0.8125, null, 0.1 + 0.2],
        confusion: [
          [3, 1],
          [0, 4],
        ],
        trainingLoss: 0.1 + 0.2,
        staleness: [2, 0, 1],
        epsilon: 0.75,
        closedAt: 20,
      })
      expect(await store.getTask('t1')).toMatchObject({
        modelHash: HASH_B,
        committedRounds: 1,
        round: 1,
        optimizerState: HASH_A,
        privacySpent: { rdp: [0.5, 0.25], epsilon: 0.75 },
        stoppedReason: 'the privacy budget',
      })
      expect(await store.listOpenRounds()).toEqual([])
      await store.close()
    })

    it('keeps the bounds a round applied to its updates, and why a round was abandoned', async () => {
      const store = await makeStore()
      await store.insertTask(aTask('t1'))
      const bounds = { norm: 0.1 + 0.2, weight: null, clipped: 0, capped: 0 }
      await store.openRound({ ...aRound('t1', 1), updateBounds: bounds })
      await store.openRound(aRound('t1', 2))
      expect((await store.listRounds('t1'))[0]?.updateBounds).toEqual(bounds)
      // Counted as the round goes, then closed with what it applied.
      await store.updateRound('t1', 1, { updateBounds: { ...bounds, clipped: 1 } })
      expect((await store.listRounds('t1'))[0]?.updateBounds).toMatchObject({ clipped: 1 })
      await store.closeRound({
        round: {
          taskId: 't1',
          round: 1,
          status: 'abandoned',
          updateBounds: { norm: 2.5, weight: 1200, clipped: 2, capped: 1 },
          abandonedReason: 'the held-out loss is NaN',
          closedAt: 20,
        },
        task: {},
      })
      const [first, second] = await store.listRounds('t1')
      expect(first).toMatchObject({
        status: 'abandoned',
        updateBounds: { norm: 2.5, weight: 1200, clipped: 2, capped: 1 },
        abandonedReason: 'the held-out loss is NaN',
      })
      // A private task's round applies none of these: null, as are rounds from before them.
      expect(second).toMatchObject({ updateBounds: null, abandonedReason: null })
      await store.updateRound('t1', 2, { selected: 1, updateBounds: bounds })
      await store.resetRound('t1', 2, 30)
      expect((await store.listRounds('t1'))[1]).toMatchObject({ updateBounds: null, selected: 0 })
      await store.close()
    })

    it('reads a round that was not evaluated with no accuracy by label', async () => {
      const store = await makeStore()
      await store.insertTask(aTask('t1'))
      await store.openRound(aRound('t1', 1))
      expect((await store.listRounds('t1'))[0]?.accuracyByLabel).toBeNull()
      await store.closeRound({
        round: { taskId: 't1', round: 1, status: 'committed', accuracyByLabel: null, closedAt: 20 },
        task: { committedRounds: 1 },
      })
      expect((await store.listRounds('t1'))[0]).toMatchObject({
        status: 'committed',
        accuracy: null,
        accuracyByLabel: null,
        confusion: null,
        trainingLoss: null,
      })
      await store.close()
    })

    it('keeps when a round had its first device, and forgets it when the round restarts', async () => {
      const store = await makeStore()
      await store.insertTask(aTask('t1'))
      await store.openRound(aRound('t1', 1))
      expect((await store.listRounds('t1'))[0]?.firstAssignedAt).toBeNull()
      await store.updateRound('t1', 1, { selected: 1, firstAssignedAt: 150_010 })
      expect((await store.listRounds('t1'))[0]).toMatchObject({
        startedAt: 10,
        firstAssignedAt: 150_010,
      })
      await store.resetRound('t1', 1, 200_000)
      expect((await store.listRounds('t1'))[0]).toMatchObject({
        startedAt: 200_000,
        firstAssignedAt: null,
      })
      await store.close()
    })

    it('rolls back both halves when one fails', async () => {
      const store = await makeStore()
      await store.insertTask(aTask('t1'))
      await store.openRound(aRound('t1', 1))
      await expect(
        store.closeRound({
          round: { taskId: 't1', round: 1, status: 'committed' },
          // @ts-expect-error a column that does not exist makes the second statement fail
          task: { noSuchColumn: 1 },
        }),
      ).rejects.toThrow()
      expect((await store.listRounds('t1'))[0]?.status).toBe('open')
      await store.close()
    })

    it('resets an open round and forgets its assignments', async () => {
      const store = await makeStore()
      await store.insertTask(aTask('t1'))
      await store.openRound({ ...aRound('t1', 1), selected: 3, reported: 2, deadlineAt: 99 })
      await store.insertDevice({
        id: 'd1',
        tokenHash: 'h1',
        label: null,
        capabilities: { backend: 'wasm' },
        datasets: [{ name: 'mnist', examples: 5, labels: [5] }],
        enrolledAt: 1,
        lastSeenAt: 1,
      })
      await store.insertAssignment({
        taskId: 't1',
        round: 1,
        deviceId: 'd1',
        state: 'assigned',
        examples: 0,
        assignedAt: 5,
        answeredAt: null,
        backend: 'wasm',
        examplesPerSecond: 120.5,
        downloadedAt: null,
        bytesUp: 0,
      })
      await store.updateAssignment({ taskId: 't1', round: 1, deviceId: 'd1' }, { downloadedAt: 5 })
      await store.updateAssignment(
        { taskId: 't1', round: 1, deviceId: 'd1' },
        { state: 'reported', examples: 5, answeredAt: 6, bytesUp: 1234 },
      )
      expect((await store.listAssignments('t1', 1))[0]).toEqual({
        taskId: 't1',
        round: 1,
        deviceId: 'd1',
        state: 'reported',
        examples: 5,
        assignedAt: 5,
        answeredAt: 6,
        backend: 'wasm',
        examplesPerSecond: 120.5,
        downloadedAt: 5,
        bytesUp: 1234,
      })
      const participation = noParticipation()
      participation.byBackend.wasm = { devices: 1, examples: 5 }
      const bytesUpByCodec = { int8: 1200, unreadable: 34 }
      const bytesDownByEncoding = { float32: 99 }
      await store.updateRound('t1', 1, {
        ...{ bytesUp: 1234, bytesDown: 99, participation },
        ...{ bytesUpByCodec, bytesDownByEncoding },
      })
      expect((await store.listRounds('t1'))[0]).toMatchObject({
        bytesUp: 1234,
        bytesDown: 99,
        bytesUpByCodec,
        bytesDownByEncoding,
        participation,
      })
      expect(await store.listOpenRounds()).toHaveLength(1)
      expect(await store.markLate({ taskId: 't1', round: 1, deviceId: 'd1' }, 7)).toBe(false)
      await store.resetRound('t1', 1, 50)
      expect(await store.listAssignments('t1', 1)).toEqual([])
      expect((await store.listRounds('t1'))[0]).toMatchObject({
        status: 'open',
        selected: 0,
        reported: 0,
        startedAt: 50,
        deadlineAt: null,
        bytesUp: 0,
        bytesDown: 0,
        bytesUpByCodec: {},
        bytesDownByEncoding: {},
        participation: noParticipation(),
      })
      await store.close()
    })

    it('counts a late device once, atomically', async () => {
      const store = await makeStore()
      await store.insertTask(aTask('t1'))
      await store.openRound(aRound('t1', 1))
      await store.insertDevice({
        id: 'd1',
        tokenHash: 'h1',
        label: null,
        capabilities: null,
        datasets: [],
        enrolledAt: 1,
        lastSeenAt: 1,
      })
      const key = { taskId: 't1', round: 1, deviceId: 'd1' }
      await store.insertAssignment({
        ...key,
        state: 'assigned',
        examples: 0,
        assignedAt: 2,
        answeredAt: null,
        backend: null,
        examplesPerSecond: null,
        downloadedAt: null,
        bytesUp: 0,
      })
      await store.closeRound({
        round: { taskId: 't1', round: 1, status: 'abandoned', closedAt: 3 },
        task: {},
      })
      const answers = await Promise.all([store.markLate(key, 4), store.markLate(key, 5)])
      expect(answers.sort()).toEqual([false, true])
      expect((await store.listRounds('t1'))[0]?.late).toBe(1)
      expect(await store.getAssignment(key)).toMatchObject({ state: 'late', answeredAt: 4 })
      expect(await store.getAssignment({ ...key, round: 2 })).toBeUndefined()
      await store.close()
    })

    it('finds devices by token hash and keeps their datasets', async () => {
      const store = await makeStore()
      await store.insertDevice({
        id: 'd1',
        tokenHash: 'h1',
        label: 'phone "1"; drop table devices;--',
        capabilities: null,
        datasets: [],
        enrolledAt: 1,
        lastSeenAt: 1,
      })
      await store.updateDevice('d1', {
        capabilities: { backend: 'webgpu', charging: true },
        datasets: [{ name: 'mnist', examples: 3, labels: [1, 2] }],
        lastSeenAt: 9,
      })
      const d = await store.getDeviceByTokenHash('h1')
      expect(d).toMatchObject({ label: 'phone "1"; drop table devices;--', lastSeenAt: 9 })
      expect(d?.datasets).toEqual([{ name: 'mnist', examples: 3, labels: [1, 2] }])
      expect(await store.getDeviceByTokenHash('h2')).toBeUndefined()
      expect(await store.listDevices()).toHaveLength(1)
      await store.close()
    })

    it('deletes a task with its rounds and assignments', async () => {
      const store = await makeStore()
      await store.insertTask(aTask('t1'))
      await store.openRound(aRound('t1', 1))
      expect(await store.deleteTask('t1')).toBe(true)
      expect(await store.deleteTask('t1')).toBe(false)
      expect(await store.listRounds('t1')).toEqual([])
      await store.close()
    })

    it('keeps datasets: one per name, their words patched, a held-out set set and cleared', async () => {
      const store = await makeStore()
      const flowers = {
        ...MNIST_DATASET,
        name: 'flowers',
        features: { kind: 'image' as const, height: 32, width: 32, channels: 3 as const },
        classes: ['rose', 'tulip', "it's; drop table datasets;--"],
      }
      await store.insertDataset({
        name: 'flowers',
        spec: flowers,
        createdAt: 1,
        updatedAt: 1,
        heldOut: null,
      })
      await expect(
        store.insertDataset({
          name: 'flowers',
          spec: flowers,
          createdAt: 2,
          updatedAt: 2,
          heldOut: null,
        }),
      ).rejects.toThrow()
      const heldOut = { hash: HASH_B, examples: 5, labels: [2, 0, 3], uploadedAt: 7 }
      await store.updateDataset('flowers', {
        spec: { ...flowers, description: 'petals' },
        updatedAt: 3,
        heldOut,
      })
      expect(await store.getDataset('flowers')).toEqual({
        name: 'flowers',
        spec: { ...flowers, description: 'petals' },
        createdAt: 1,
        updatedAt: 3,
        heldOut,
      })
      await store.updateDataset('flowers', { heldOut: null })
      expect((await store.getDataset('flowers'))?.heldOut).toBeNull()
      await store.insertDataset({
        name: 'mnist',
        spec: MNIST_DATASET,
        createdAt: 4,
        updatedAt: 4,
        heldOut,
      })
      expect((await store.listDatasets()).map((d) => d.name)).toEqual(['flowers', 'mnist'])
      expect(await store.deleteDataset('flowers')).toBe(true)
      expect(await store.deleteDataset('flowers')).toBe(false)
      expect(await store.getDataset('flowers')).toBeUndefined()
      expect((await store.getDataset('mnist'))?.heldOut).toEqual(heldOut)
      await store.close()
    })
  })
}
