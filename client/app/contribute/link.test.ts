import { describe, expect, it } from 'vitest'
import { readLedger } from '../privacy/ledger.ts'
import { createConsentStore } from '../tasks/consent.ts'
import { loadEnrolment, saveEnrolment } from './enrolment.ts'
import { createLink } from './link.ts'
import { freshDb, taskView } from './testing.ts'

/** A coordinator that enrols anyone and lists `listed` to the token it issued last. */
function coordinator(listed = [taskView('a')]) {
  const calls: string[] = []
  let issued = 0
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString())
    const auth = new Headers(init?.headers).get('Authorization')
    calls.push(`${init?.method ?? 'GET'} ${url.pathname}`)
    if (url.pathname === '/api/v1/devices' && init?.method === 'POST') {
      issued += 1
      return Promise.resolve(
        Response.json({ type: 'enrolled', deviceId: `d${issued}`, token: `t${issued}` }),
      )
    }
    if (auth !== `Bearer t${issued}`)
      return Promise.resolve(
        Response.json({ error: { code: 'x', message: 'who?' } }, { status: 401 }),
      )
    return Promise.resolve(Response.json({ tasks: listed }))
  }
  return { fetch, calls }
}

describe('the phone’s link to the coordinator', () => {
  it('enrols once and keeps the enrolment; lists tasks, and takes their privacy terms', async () => {
    const db = await freshDb()
    await createConsentStore({ db }).join(taskView('a'))
    const c = coordinator()
    const link = createLink({ db, server: 'http://c.test', fetch: c.fetch, now: () => 5 })
    expect((await link.tasks()).map((t) => t.id)).toEqual(['a'])
    expect(await link.tasks()).toHaveLength(1)
    expect(c.calls.filter((call) => call === 'POST /api/v1/devices')).toHaveLength(1)
    expect(await loadEnrolment(db)).toEqual({ deviceId: 'd1', token: 't1' })
    expect((await readLedger(db))[0]).toMatchObject({ taskId: 'a', updatedAt: 5 })
    db.close()
  })

  it('enrols again when the coordinator no longer knows the stored enrolment', async () => {
    const db = await freshDb()
    await saveEnrolment(db, { deviceId: 'old', token: 'forgotten' })
    const link = createLink({
      db,
      server: 'http://c.test',
      fetch: coordinator().fetch,
      now: Date.now,
    })
    expect(await link.tasks()).toHaveLength(1)
    expect(await loadEnrolment(db)).toEqual({ deviceId: 'd1', token: 't1' })
    db.close()
  })

  it('knows a task ended, or removed, once the coordinator listed the tasks', async () => {
    const db = await freshDb()
    const ended = { ...taskView('b'), status: 'completed' as const }
    const link = createLink({
      db,
      server: 'http://c.test',
      fetch: coordinator([taskView('a'), ended]).fetch,
      now: Date.now,
    })
    expect(link.over('gone')).toBe(false) // not asked yet: nothing is known to be over
    await link.tasks()
    expect([link.over('a'), link.over('b'), link.over('gone')]).toEqual([false, true, true])
    db.close()
  })
})
