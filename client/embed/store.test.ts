// Runs in Chromium, on its real IndexedDB.
import { afterEach, describe, expect, it } from 'vitest'
import {
  addBatch,
  classCounts,
  clearEnrolment,
  deleteDataset,
  loadConsents,
  loadEnrolment,
  loadExamples,
  openEmbedDb,
  saveEnrolment,
  setConsent,
  type EmbedDatabase,
} from './store.ts'

const opened: EmbedDatabase[] = []
async function fresh(): Promise<EmbedDatabase> {
  const name = `pollen-embed-test-${crypto.randomUUID()}`
  const db = await openEmbedDb(name)
  opened.push(db)
  return db
}
afterEach(() => {
  for (const db of opened.splice(0)) {
    db.close()
    indexedDB.deleteDatabase(db.name)
  }
})

const rows = (values: number[], labels: number[]) => ({
  count: labels.length,
  shape: [2],
  features: Float32Array.from(values),
  labels: Uint8Array.from(labels),
})

describe('the embeddable client’s IndexedDB', () => {
  it('keeps batches by dataset and gives them back as one Examples, counted by class', async () => {
    const db = await fresh()
    await addBatch(db, 'plants', rows([1, 2, 3, 4], [0, 2]))
    await addBatch(db, 'plants', rows([5, 6], [2]))
    await addBatch(db, 'other', rows([9, 9], [1]))
    const got = await loadExamples(db, 'plants', [2], 'tabular')
    expect(got.count).toBe(3)
    expect([...got.features]).toEqual([1, 2, 3, 4, 5, 6])
    expect([...got.labels]).toEqual([0, 2, 2])
    expect(await classCounts(db, 'plants', [2], 3)).toEqual([1, 0, 2])
    expect((await loadExamples(db, 'nothing', [2], 'tabular')).count).toBe(0)
  })

  it('never trains on a batch of another shape (a dataset declared again, differently)', async () => {
    const db = await fresh()
    await addBatch(db, 'plants', rows([1, 2], [0]))
    await addBatch(db, 'plants', { ...rows([1, 2, 3], [1]), shape: [3] })
    const got = await loadExamples(db, 'plants', [2], 'tabular')
    expect(got.count).toBe(1)
    expect(await classCounts(db, 'plants', [3], 2)).toEqual([0, 1])
  })

  it('keeps image bytes as bytes', async () => {
    const db = await fresh()
    const bytes = Uint8Array.from({ length: 12 }, (_, i) => i)
    await addBatch(db, 'leaves', {
      count: 1,
      shape: [2, 2, 3],
      features: bytes,
      labels: Uint8Array.of(1),
    })
    const got = await loadExamples(db, 'leaves', [2, 2, 3], 'image')
    expect(got.features).toBeInstanceOf(Uint8Array)
    expect([...got.features]).toEqual([...bytes])
  })

  it('deletes one dataset’s examples and no other’s', async () => {
    const db = await fresh()
    await addBatch(db, 'plants', rows([1, 2, 3, 4], [0, 1]))
    await addBatch(db, 'other', rows([1, 2], [0]))
    expect(await deleteDataset(db, 'plants')).toBe(2)
    expect((await loadExamples(db, 'plants', [2], 'tabular')).count).toBe(0)
    expect((await loadExamples(db, 'other', [2], 'tabular')).count).toBe(1)
  })

  it('keeps an enrolment and consents per coordinator', async () => {
    const db = await fresh()
    const a = 'http://a.example/'
    await saveEnrolment(db, a, { deviceId: 'd1', token: 't1' })
    expect(await loadEnrolment(db, a)).toEqual({ deviceId: 'd1', token: 't1' })
    expect(await loadEnrolment(db, 'http://b.example/')).toBeUndefined()
    await clearEnrolment(db, a)
    expect(await loadEnrolment(db, a)).toBeUndefined()

    expect(await setConsent(db, a, 'task-1', true)).toEqual(['task-1'])
    await setConsent(db, a, 'task-2', true)
    await setConsent(db, a, 'task-1', true)
    expect(await loadConsents(db, a)).toEqual(['task-1', 'task-2'])
    expect(await loadConsents(db, 'http://b.example/')).toEqual([])
    await setConsent(db, a, 'task-1', false)
    expect(await loadConsents(db, a)).toEqual(['task-2'])
  })
})
