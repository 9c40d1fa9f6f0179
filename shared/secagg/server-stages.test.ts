import { describe, expect, it } from 'vitest'
import { createSecAggClient, type SecAggClient } from './client.ts'
import { SECAGG_DEFAULTS } from './constants.ts'
import { cryptoRandom } from './graph.ts'
import { randomVectors } from './fixtures.ts'
import {
  advertise,
  closeAdvertise,
  closeCollect,
  closeShare,
  collect,
  collected,
  reveal,
  share,
} from './server-stages.ts'
import { abandon, missing, newRoundState, type RoundState } from './server-state.ts'
import { finish, finished } from './server-unmask.ts'
import { viewOf } from './server-view.ts'

const ids = ['a', 'b', 'c', 'd']
const length = 8

/** A fresh state and one client per id, each advertised. */
async function advertised(): Promise<{ s: RoundState; clients: Map<string, SecAggClient> }> {
  const s = newRoundState({
    ...SECAGG_DEFAULTS,
    length,
    range: 1,
    degree: undefined,
    random: cryptoRandom,
  })
  const clients = new Map<string, SecAggClient>()
  for (const id of ids) {
    const client = await createSecAggClient(id)
    clients.set(id, client)
    advertise(s, id, client.keys())
  }
  return { s, clients }
}

const view = <S extends 'share' | 'collect' | 'unmask'>(s: RoundState, id: string, stage: S) => {
  const v = viewOf(s, id)
  if (v.stage !== stage || v.waiting) throw new Error(`${id}: ${JSON.stringify(v)}`)
  return v as Extract<typeof v, { stage: S; waiting: false }>
}

describe('the SecAgg+ server stages over one state', () => {
  it('moves advertise → share → collect → unmask → done, each transition fixing its set', async () => {
    const { s, clients } = await advertised()
    expect(closeAdvertise(s)).toBe('share')
    expect(s.config).toMatchObject({ participants: 4, length })
    // All four share: share closes by itself, U2 is everyone.
    for (const id of ids) share(s, id, await clients.get(id)!.share(view(s, id, 'share')))
    expect([s.stage, [...s.u2].sort()]).toEqual(['collect', ids])
    // d sends nothing: collect is closed by hand, U3 without d.
    const vectors = randomVectors(ids, length, 7)
    for (const id of ['a', 'b', 'c'])
      collect(s, id, await clients.get(id)!.mask(view(s, id, 'collect'), vectors.get(id)!))
    expect(s.stage).toBe('collect')
    expect(closeCollect(s)).toBe('unmask')
    expect([...s.u3].sort()).toEqual(['a', 'b', 'c'])
    expect(missing(s)).toMatch(/have fewer than/)
    for (const id of ['a', 'b', 'c']) reveal(s, id, clients.get(id)!.reveal(view(s, id, 'unmask')))
    expect(missing(s)).toBeNull()
    const result = await finish(s)
    expect([s.stage, result.survivors]).toEqual(['done', ['a', 'b', 'c']])
    expect(s.sum).toBeNull()
  })

  it('abandons at each close short of participants, saying why', async () => {
    const few = await advertised()
    few.s.participants.delete('c')
    few.s.participants.delete('d')
    expect(closeAdvertise(few.s)).toBe('abandoned')
    expect(few.s.reason).toBe('2 participants advertised keys, at least 3 needed')

    const { s, clients } = await advertised()
    closeAdvertise(s)
    share(s, 'a', await clients.get('a')!.share(view(s, 'a', 'share')))
    expect(closeShare(s)).toBe('abandoned')
    expect(s.reason).toBe(`1 shared, at least ${SECAGG_DEFAULTS.minSurvivors} needed`)
    // Abandoned is final: a second abandon changes nothing, any stage call is refused.
    abandon(s, 'again')
    expect(s.reason).toMatch(/^1 shared/)
    expect(() => closeCollect(s)).toThrow(/closeCollect belongs to the collect stage/)
  })

  it('refuses to finish short of shares, abandoning the round', async () => {
    const { s, clients } = await advertised()
    closeAdvertise(s)
    for (const id of ids) share(s, id, await clients.get(id)!.share(view(s, id, 'share')))
    const vectors = randomVectors(ids, length, 3)
    for (const id of ids)
      collect(s, id, await clients.get(id)!.mask(view(s, id, 'collect'), vectors.get(id)!))
    expect(s.stage).toBe('unmask')
    await expect(finish(s)).rejects.toMatchObject({ code: 'threshold', status: 409 })
    expect(s.stage).toBe('abandoned')
  })

  it('counts a masked input summed elsewhere (replicas) with collect’s checks, and ends done', async () => {
    const { s, clients } = await advertised()
    closeAdvertise(s)
    for (const id of ['a', 'b', 'c'])
      share(s, id, await clients.get(id)!.share(view(s, id, 'share')))
    closeShare(s)
    expect(() => collected(s, 'd', length)).toThrow(/did not share/)
    expect(() => collected(s, 'a', length + 1)).toThrow(/9 words, the round sums 8/)
    collected(s, 'a', length)
    expect(() => collected(s, 'a', length)).toThrow(/already sent its input/)
    collected(s, 'b', length)
    expect(s.stage).toBe('collect')
    // The last of U2 in: unmask, as collect does.
    collected(s, 'c', length)
    expect([s.stage, [...s.u3].sort()]).toEqual(['unmask', ['a', 'b', 'c']])
    expect(() => collected(s, 'c', length)).toThrow(/belongs to the collect stage/)
    finished(s)
    expect([s.stage, s.sum]).toEqual(['done', null])
  })
})
