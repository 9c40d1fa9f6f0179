import { describe, expect, it } from 'vitest'
import {
  type CollectView,
  SECAGG_CLIENT_STAGES,
  type SecAggClientStage,
  type ShareView,
  type UnmaskView,
} from './client.ts'
import {
  advertise,
  cohort,
  collect,
  ids,
  randomVectors,
  reveal,
  share,
  viewAs,
  outcome,
} from './fixtures.ts'
import { fromBase64url, toBase64url } from './wire.ts'

const CONFIG = { participants: 3, threshold: 2, degree: 2, length: 16, range: 1, scale: 1000 }
const FAKE = {
  share: { stage: 'share', waiting: false, config: CONFIG, neighbours: [] } as ShareView,
  collect: { stage: 'collect', waiting: false, config: CONFIG, ciphertexts: [] } as CollectView,
  unmask: { stage: 'unmask', waiting: false, survivors: [], dropped: [] } as UnmaskView,
}

/** Three participants, all at client stage `stage`, the round one step behind them. */
async function clientsAt(stage: SecAggClientStage) {
  const c = await cohort(['a', 'b', 'c'])
  const vectors = randomVectors(c.ids, 16, 1)
  const steps: SecAggClientStage[] = ['advertised', 'shared', 'masked', 'revealed']
  const upTo = SECAGG_CLIENT_STAGES.indexOf(stage)
  for (const step of steps.slice(0, upTo)) {
    if (step === 'advertised') {
      advertise(c)
      c.round.closeAdvertise()
    } else if (step === 'shared') await share(c, c.ids)
    else if (step === 'masked') await collect(c, c.ids, vectors)
    else reveal(c, c.ids)
  }
  const client = c.clients.get('c')!
  const real = stage === 'created' || stage === 'revealed' ? undefined : c.round.view('c')
  const view = <S extends 'share' | 'collect' | 'unmask'>(s: S) =>
    real?.stage === s ? viewAs(real, s) : FAKE[s]
  return {
    client,
    calls: {
      keys: () => client.keys(),
      share: () => client.share(view('share')),
      mask: () => client.mask(view('collect'), vectors.get('c')!),
      reveal: () => client.reveal(view('unmask')),
    },
  }
}

const NEXT: Record<string, SecAggClientStage> = {
  keys: 'advertised',
  share: 'shared',
  mask: 'masked',
  reveal: 'revealed',
}
const VALID: Record<SecAggClientStage, string[]> = {
  created: ['keys'],
  advertised: ['keys', 'share'],
  shared: ['mask'],
  masked: ['reveal'],
  revealed: [],
}

describe('client stage transitions', () => {
  const table = SECAGG_CLIENT_STAGES.flatMap((stage) =>
    ['keys', 'share', 'mask', 'reveal'].map((call) => ({
      stage,
      call,
      valid: VALID[stage].includes(call),
    })),
  )

  it.each(table)('$stage: $call is valid: $valid', async ({ stage, call, valid }) => {
    const { client, calls } = await clientsAt(stage)
    expect(client.stage).toBe(stage)
    const result = await outcome(calls[call as keyof typeof calls])
    if (valid) {
      expect(result).toBe('ok')
      expect(client.stage).toBe(NEXT[call])
    } else {
      expect(result).toBe('409 stage stage')
      expect(client.stage).toBe(stage)
    }
  })

  it('refuses a view of another stage, or one that says wait', async () => {
    const { client } = await clientsAt('advertised')
    expect(await outcome(() => client.share(FAKE.collect as never))).toBe('409 stage stage')
    expect(
      await outcome(() =>
        client.share({ stage: 'share', waiting: true, retryAfterSeconds: 1 } as never),
      ),
    ).toBe('409 stage stage')
  })

  it('gives the same keys on a retry', async () => {
    const { client } = await clientsAt('created')
    expect(client.keys()).toEqual(client.keys())
  })
})

describe('client input checks', () => {
  async function atShare() {
    const c = await cohort(ids(5))
    advertise(c)
    c.round.closeAdvertise()
    const [p0] = c.ids as [string]
    return { c, p0, client: c.clients.get(p0)!, view: viewAs(c.round.view(p0), 'share') }
  }

  it('share: refuses a threshold that would let the server rebuild secrets from too few', async () => {
    const { client, view, p0 } = await atShare()
    const n = view.neighbours
    const offCurve = fromBase64url(n[1]!.maskKey, 'k')
    offCurve[64]! ^= 1
    const cases: [ShareView, string][] = [
      [{ ...view, config: { ...view.config, threshold: 1 } }, '422 invalid config.threshold'],
      [{ ...view, config: { ...view.config, threshold: 2 } }, '422 invalid config.threshold'],
      [{ ...view, config: { ...view.config, threshold: 5 } }, '422 invalid config.threshold'],
      [{ ...view, neighbours: n.slice(1) }, '422 invalid neighbours'],
      [
        { ...view, neighbours: [{ ...n[0]!, id: p0 }, ...n.slice(1)] },
        '422 invalid neighbours.0.id',
      ],
      [
        { ...view, neighbours: [n[0]!, { ...n[1]!, maskKey: n[0]!.maskKey }, ...n.slice(2)] },
        '422 invalid neighbours.1.maskKey',
      ],
      [
        {
          ...view,
          neighbours: [n[0]!, { ...n[1]!, maskKey: toBase64url(offCurve) }, ...n.slice(2)],
        },
        '422 invalid neighbours.1.maskKey',
      ],
      [{ ...view, config: { ...view.config, scale: 2 ** 31 } }, '422 invalid config.scale'],
    ]
    for (const [bad, expected] of cases) {
      expect(await outcome(() => client.share(bad))).toBe(expected)
      expect(client.stage).toBe('advertised')
    }
    expect((await client.share(view)).shares).toHaveLength(4)
  })

  it('mask: refuses changed configs, strangers, tampering, redirection and too few neighbours', async () => {
    const c = await cohort(ids(5))
    const [p0, , p2] = c.ids as [string, string, string]
    advertise(c)
    c.round.closeAdvertise()
    await share(c, c.ids)
    const client = c.clients.get(p0)!
    const view = viewAs(c.round.view(p0), 'collect')
    const values = new Float32Array(16)
    const [x1, x2] = view.ciphertexts as [
      (typeof view.ciphertexts)[0],
      (typeof view.ciphertexts)[0],
    ]
    const tampered = fromBase64url(x1.ciphertext, 'c')
    tampered[30]! ^= 1
    const cases: [CollectView, ArrayLike<number>, string][] = [
      [{ ...view, config: { ...view.config, scale: 7 } }, values, '422 invalid config.scale'],
      [view, new Float32Array(15), '422 invalid values'],
      [view, Float32Array.of(...values.subarray(1), NaN), '422 invalid values.15'],
      [
        { ...view, ciphertexts: [{ ...x1, from: 'zz' }, ...view.ciphertexts.slice(1)] },
        values,
        '422 not_neighbour ciphertexts.0.from',
      ],
      [{ ...view, ciphertexts: [x1, x1, x2] }, values, '422 invalid ciphertexts.1.from'],
      [
        { ...view, ciphertexts: [{ ...x1, ciphertext: toBase64url(tampered) }, x2] },
        values,
        '422 invalid ciphertexts.0.ciphertext',
      ],
      // The server passes p1's bundle off as p2's: it does not open under its claimed sender.
      [
        {
          ...view,
          ciphertexts: [{ from: p2, ciphertext: x1.ciphertext }, ...view.ciphertexts.slice(2)],
        },
        values,
        '422 invalid ciphertexts.0.ciphertext',
      ],
      // Two of four neighbours "shared": fewer than t = 3 holders for this one's secrets.
      [{ ...view, ciphertexts: [x1, x2] }, values, '409 threshold ciphertexts'],
    ]
    for (const [bad, vector, expected] of cases) {
      expect(await outcome(() => client.mask(bad, vector))).toBe(expected)
      expect(client.stage).toBe('shared')
    }
    expect((await client.mask(view, values)).length).toBe(16)
  })

  it('reveal: never both kinds for one neighbour, never its own, only what it holds', async () => {
    const c = await cohort(ids(5))
    const [p0, p1, p2, p3, p4] = c.ids as [string, string, string, string, string]
    advertise(c)
    c.round.closeAdvertise()
    await share(c, c.ids)
    await collect(c, [p0, p1, p2, p3], randomVectors(c.ids, 16, 1))
    c.round.closeCollect()
    const client = c.clients.get(p0)!
    const view = viewAs(c.round.view(p0), 'unmask')
    expect(view).toEqual({
      stage: 'unmask',
      waiting: false,
      survivors: [p1, p2, p3],
      dropped: [p4],
    })
    const cases: [UnmaskView, string][] = [
      [{ ...view, dropped: [p4, p1] }, '422 invalid dropped.1'],
      [{ ...view, survivors: [p1, p2, p3, p0] }, '422 invalid survivors.3'],
      [{ ...view, survivors: [p1, p2, p3, 'zz'] }, '422 invalid survivors.3'],
      [{ ...view, survivors: [p1, p2], dropped: [p3, p4] }, '409 threshold survivors'],
    ]
    for (const [bad, expected] of cases) {
      expect(await outcome(() => client.reveal(bad))).toBe(expected)
      expect(client.stage).toBe('masked')
    }
    const message = client.reveal(view)
    expect(message.selfMaskShares.map((s) => s.of)).toEqual([p1, p2, p3])
    expect(message.keyShares.map((s) => s.of)).toEqual([p4])
  })
})
