import { describe, expect, it } from 'vitest'
import {
  advertise,
  type Cohort,
  cohort,
  collect,
  drive,
  ids,
  randomVectors,
  reveal,
  share,
  viewAs,
  outcome,
} from './fixtures.ts'
import {
  type KeysMessage,
  type RevealMessage,
  SECAGG_STAGES,
  type SecAggStage,
  type SharesMessage,
} from './messages.ts'
import { createSecAggClient } from './client.ts'
import { createSecAggRound } from './server.ts'
import { fromBase64url, toBase64url } from './wire.ts'

const [A, B, C] = ['a', 'b', 'c']
const vectors = randomVectors([A, B, C], 16, 1)

/**
 * Three participants with the round in `stage`, a and b done with it and c not yet, so c's call
 * for the stage is valid; and c's message for the stage, made by its own client.
 */
async function roundAt(stage: SecAggStage) {
  const c = await cohort([A, B, C])
  // A fourth participant, d, who would like to advertise too.
  const d = (await createSecAggClient('d')).keys()
  if (stage === 'advertise') {
    advertise(c, [A, B])
    return { c, call: calls(c, { keys: d }) }
  }
  advertise(c)
  c.round.closeAdvertise()
  if (stage === 'abandoned') {
    c.round.abandon('the deadline passed')
    return { c, call: calls(c, { keys: d }) }
  }
  await share(c, [A, B])
  const shareMessage = await c.clients.get(C)!.share(viewAs(c.round.view(C), 'share'))
  if (stage === 'share') return { c, call: calls(c, { keys: d, share: shareMessage }) }
  c.round.share(C, shareMessage)
  await collect(c, [A, B], vectors)
  const view = viewAs(c.round.view(C), 'collect')
  const masked = await c.clients.get(C)!.mask(view, vectors.get(C)!)
  if (stage === 'collect') return { c, call: calls(c, { keys: d, masked }) }
  c.round.collect(C, masked)
  reveal(c, [A, B])
  const revealMessage = c.clients.get(C)!.reveal(viewAs(c.round.view(C), 'unmask'))
  if (stage === 'unmask') return { c, call: calls(c, { keys: d, reveal: revealMessage }) }
  c.round.reveal(C, revealMessage)
  await c.round.finish()
  return { c, call: calls(c, { keys: d }) }
}

type Call = keyof ReturnType<typeof calls>

function calls(
  { round }: Cohort,
  m: {
    keys: KeysMessage
    share?: SharesMessage
    masked?: Uint32Array
    reveal?: RevealMessage
  },
) {
  // Outside their stage the content does not matter: the stage is checked first.
  return {
    advertise: () => round.advertise('d', m.keys),
    closeAdvertise: () => round.closeAdvertise(),
    share: () => round.share(C, m.share ?? { shares: [] }),
    closeShare: () => round.closeShare(),
    collect: () => round.collect(C, m.masked ?? new Uint32Array(16)),
    closeCollect: () => round.closeCollect(),
    reveal: () => round.reveal(C, m.reveal ?? { selfMaskShares: [], keyShares: [] }),
    finish: () => round.finish(),
  }
}

const VALID: Record<SecAggStage, Call[]> = {
  advertise: ['advertise', 'closeAdvertise'],
  share: ['share', 'closeShare'],
  collect: ['collect', 'closeCollect'],
  unmask: ['reveal', 'finish'],
  done: [],
  abandoned: [],
}

describe('server stage transitions', () => {
  const table = SECAGG_STAGES.flatMap((stage) =>
    (
      [
        'advertise',
        'closeAdvertise',
        'share',
        'closeShare',
        'collect',
        'closeCollect',
        'reveal',
        'finish',
      ] as Call[]
    ).map((call) => ({ stage, call, valid: VALID[stage].includes(call) })),
  )

  it.each(table)('$stage: $call is valid: $valid', async ({ stage, call, valid }) => {
    const { c, call: make } = await roundAt(stage)
    expect(c.round.stage).toBe(stage)
    // finish is valid in unmask once every share is in: c reveals first.
    if (stage === 'unmask' && call === 'finish') make.reveal()
    const result = await outcome(make[call])
    if (valid) expect(result).toBe('ok')
    else expect(result).toMatch(/^409 stage stage$/)
  })

  it('moves through the stages in order, closing share and collect by itself', async () => {
    const c = await cohort([A, B, C])
    const seen: SecAggStage[] = [c.round.stage]
    advertise(c)
    seen.push(c.round.closeAdvertise())
    await share(c, [A, B, C])
    seen.push(c.round.stage)
    await collect(c, [A, B, C], vectors)
    seen.push(c.round.stage)
    reveal(c, [A, B])
    expect(c.round.ready).toBe(false)
    reveal(c, [C])
    expect(c.round.ready).toBe(true)
    const finishing = c.round.finish()
    // One unmasking at a time, and nothing more comes in while it runs.
    expect(await outcome(() => c.round.finish())).toBe('409 stage stage')
    expect(c.round.view(A)).toMatchObject({ stage: 'unmask', waiting: true })
    const { count, survivors } = await finishing
    expect({ count, survivors }).toEqual({ count: 3, survivors: [A, B, C] })
    seen.push(c.round.stage)
    expect(seen).toEqual(['advertise', 'share', 'collect', 'unmask', 'done'])
    expect(c.round.view(A)).toEqual({ stage: 'done', waiting: false })
    expect(await outcome(() => c.round.abandon('late'))).toBe('409 stage stage')
  })

  it('says who waits, who acts and who dropped', async () => {
    // Six, complete graph, t = 3: p5 never shares, p4 shares but sends no input.
    const c = await cohort(ids(6))
    const [p0, p1, p2, p3, p4, p5] = c.ids as [string, string, string, string, string, string]
    expect(c.round.view(p0)).toMatchObject({ stage: 'advertise', waiting: false })
    advertise(c)
    expect(c.round.view(p0)).toEqual({ stage: 'advertise', waiting: true, retryAfterSeconds: 2 })
    c.round.closeAdvertise()
    await share(c, [p0])
    expect(c.round.view(p0)).toMatchObject({ stage: 'share', waiting: true })
    expect(c.round.view(p1)).toMatchObject({ stage: 'share', waiting: false })
    expect(viewAs(c.round.view(p1), 'share').neighbours.map((n) => n.id)).toEqual(
      c.ids.filter((id) => id !== p1),
    )
    await share(c, [p1, p2, p3, p4])
    expect(c.round.closeShare()).toBe('collect')
    expect(await outcome(() => c.round.view(p5))).toBe('409 dropped id')
    expect(await outcome(() => c.round.view('stranger'))).toBe('409 unknown_participant id')
    expect(viewAs(c.round.view(p2), 'collect').ciphertexts.map((x) => x.from)).toEqual([
      p0,
      p1,
      p3,
      p4,
    ])
    await collect(c, [p0, p1, p2, p3], randomVectors(c.ids, 16, 3))
    expect(c.round.closeCollect()).toBe('unmask')
    expect(c.round.stats).toMatchObject({
      advertised: c.ids,
      shared: [p0, p1, p2, p3, p4],
      collected: [p0, p1, p2, p3],
      revealed: [],
    })
    expect(viewAs(c.round.view(p0), 'unmask')).toMatchObject({
      survivors: [p1, p2, p3],
      dropped: [p4],
    })
    expect(await outcome(() => c.round.view(p4))).toBe('409 dropped id')
    const bytes = c.round.stats.bytes[p0]!
    expect(bytes.received).toBeGreaterThan(16 * 4)
    expect(bytes.sent).toBeGreaterThan(0)
  })

  it('abandons when too few advertise, share or keep their neighbours', async () => {
    const few = await cohort([A, B])
    advertise(few)
    expect(few.round.closeAdvertise()).toBe('abandoned')
    expect(few.round.reason).toMatch(/2 participants advertised keys, at least 3/)

    const c = await cohort(ids(5))
    advertise(c)
    c.round.closeAdvertise()
    await share(c, c.ids.slice(0, 3))
    // Three sharers keep 2 of the 3 neighbours t needs.
    expect(c.round.closeShare()).toBe('abandoned')
    expect(await outcome(() => c.round.closeCollect())).toMatch(/409 stage/)
    expect(c.round.view(c.ids[0]!)).toMatchObject({ stage: 'abandoned', reason: /after sharing/ })
  })

  it('abandons when dropouts cut the survivors apart', async () => {
    // A ring of 6 (degree 2, t = 2) over the ids in order: a–b–c–d–e–f–a. Everyone shares;
    // a and d send no input, leaving {b, c} and {e, f} apart: each pair's sum would come out.
    // On a Harary ring with t above half the degree, a split always leaves someone short of
    // holders, so that check trips first; the connectivity check stands behind it.
    const c = await cohort(['a', 'b', 'c', 'd', 'e', 'f'], { degree: 2, random: () => 0.999 })
    await drive(c, randomVectors(c.ids, 16, 1), { afterShare: ['a', 'd'] }, 'collect')
    await collect(c, ['b', 'c', 'e', 'f'], randomVectors(c.ids, 16, 1))
    expect(c.round.closeCollect()).toBe('abandoned')
    expect(c.round.reason).toMatch(/after collecting, b has 1 of the 2 neighbours/)
  })
})

describe('server input checks', () => {
  const keysOf = (c: Cohort, id: string) => c.clients.get(id)!.keys()

  it('advertise: base64url, 65-byte uncompressed points on P-256, fresh keys, one per id', async () => {
    const c = await cohort([A, B, C])
    const good = keysOf(c, A)
    const raw = Uint8Array.from(atob(good.maskKey.replace(/-/g, '+').replace(/_/g, '/')), (ch) =>
      ch.charCodeAt(0),
    )
    const offCurve = raw.slice()
    offCurve[64]! ^= 1
    const compressed = raw.slice(0, 33)
    compressed[0] = 2
    const cases: [unknown, string][] = [
      [{ ...good, maskKey: 'A' }, '422 invalid maskKey'],
      [{ ...good, maskKey: 'ab+c' }, '422 invalid maskKey'],
      [{ ...good, maskKey: toBase64url(raw.subarray(0, 64)) }, '422 invalid maskKey'],
      [{ ...good, maskKey: toBase64url(compressed) }, '422 invalid maskKey'],
      [{ ...good, maskKey: toBase64url(offCurve) }, '422 invalid maskKey'],
      [{ ...good, maskKey: good.encryptionKey }, '422 invalid maskKey'],
      [{ ...good, extra: 1 }, '422 invalid extra'],
      [{ encryptionKey: good.encryptionKey }, '422 invalid maskKey'],
    ]
    for (const [keys, expected] of cases)
      expect(await outcome(() => c.round.advertise(A, keys as never))).toBe(expected)
    expect(await outcome(() => c.round.advertise('', good))).toBe('422 invalid id')
    c.round.advertise(A, good)
    expect(await outcome(() => c.round.advertise(A, good))).toBe('409 duplicate id')
    expect(await outcome(() => c.round.advertise(B, good))).toBe('409 duplicate encryptionKey')
  })

  it('share: one sealed bundle per neighbour, no more, no fewer, no strangers', async () => {
    const c = await cohort(ids(5), { degree: 2, random: () => 0.999 })
    advertise(c)
    c.round.closeAdvertise()
    const [p0, p1] = c.ids as [string, string]
    const message = await c.clients.get(p0)!.share(viewAs(c.round.view(p0), 'share'))
    expect(message.shares.map((s) => s.to)).toEqual([p1, c.ids[4]])
    const [first, second] = message.shares as [
      (typeof message.shares)[0],
      (typeof message.shares)[0],
    ]
    const cases: [unknown, string][] = [
      [{ shares: [first] }, '422 invalid shares'],
      [{ shares: [first, first] }, '422 invalid shares.1.to'],
      [{ shares: [first, { ...second, to: c.ids[2] }] }, '422 not_neighbour shares.1.to'],
      [{ shares: [first, { ...second, to: p0 }] }, '422 not_neighbour shares.1.to'],
      [{ shares: [first, { ...second, ciphertext: 'AAAA' }] }, '422 invalid shares.1.ciphertext'],
      [{ shares: [first, { ...second, ciphertext: 'A' }] }, '422 invalid shares.1.ciphertext'],
      [{ shares: [first, { ...second, ciphertext: 'a+b' }] }, '422 invalid shares.1.ciphertext'],
      [{ shares: [first, second], more: true }, '422 invalid more'],
    ]
    for (const [bad, expected] of cases)
      expect(await outcome(() => c.round.share(p0, bad as never))).toBe(expected)
    expect(await outcome(() => c.round.share('stranger', message))).toBe(
      '409 unknown_participant id',
    )
    c.round.share(p0, message)
    expect(await outcome(() => c.round.share(p0, message))).toBe('409 duplicate id')
  })

  it('collect: Uint32Array of the round length, from U2 only, once', async () => {
    const c = await cohort(ids(5))
    await drive(c, randomVectors(c.ids, 16, 1), { afterAdvertise: [c.ids[4]!] }, 'collect')
    const [p0] = c.ids as [string]
    expect(await outcome(() => c.round.collect(p0, new Uint32Array(15)))).toBe('422 invalid masked')
    expect(await outcome(() => c.round.collect(p0, new Float32Array(16) as never))).toBe(
      '422 invalid masked',
    )
    expect(await outcome(() => c.round.collect(c.ids[4]!, new Uint32Array(16)))).toBe(
      '409 dropped id',
    )
    expect(await outcome(() => c.round.collect('nobody', new Uint32Array(16)))).toBe(
      '409 unknown_participant id',
    )
    c.round.collect(p0, new Uint32Array(16))
    expect(await outcome(() => c.round.collect(p0, new Uint32Array(16)))).toBe('409 duplicate id')
  })
})

describe('server input checks: reveals and options', () => {
  it('reveal: only neighbours’ shares, the right kind for each, never both', async () => {
    const c = await cohort(ids(5))
    const [p0, p1, p2, p3, p4] = c.ids as [string, string, string, string, string]
    // p4 shares and sends nothing; nobody reveals yet.
    await drive(c, randomVectors(c.ids, 16, 1), {
      afterShare: [p4],
      afterCollect: [p0, p1, p2, p3],
    })
    const view = viewAs(c.round.view(p0), 'unmask')
    expect(view).toMatchObject({ survivors: [p1, p2, p3], dropped: [p4] })
    const good = c.clients.get(p0)!.reveal(view)
    const [s1] = good.selfMaskShares as [{ of: string; share: string }]
    const [k4] = good.keyShares as [{ of: string; share: string }]
    // p0 is first among everyone's neighbours here, so its shares carry x = 1.
    const wrongX = toBase64url(Uint8Array.of(2, ...fromBase64url(s1.share, 'share').subarray(1)))
    const cases: [unknown, string][] = [
      // Both kinds for the dropped one: its self mask and pairwise masks would both come off.
      [
        { ...good, selfMaskShares: [...good.selfMaskShares, { ...k4 }] },
        '422 invalid selfMaskShares.3.of',
      ],
      [{ selfMaskShares: [{ ...s1, of: p4 }], keyShares: [] }, '422 invalid selfMaskShares.0.of'],
      [{ selfMaskShares: [], keyShares: [{ ...k4, of: p1 }] }, '422 invalid keyShares.0.of'],
      [
        { selfMaskShares: [{ ...s1, of: 'zz' }], keyShares: [] },
        '422 not_neighbour selfMaskShares.0.of',
      ],
      [
        { selfMaskShares: [{ ...s1, of: p0 }], keyShares: [] },
        '422 not_neighbour selfMaskShares.0.of',
      ],
      [{ selfMaskShares: [s1, s1], keyShares: [] }, '422 invalid selfMaskShares.1.of'],
      [
        { selfMaskShares: [{ ...s1, share: wrongX }], keyShares: [] },
        '422 invalid selfMaskShares.0.share',
      ],
      [
        { selfMaskShares: [{ ...s1, share: 'AAAA' }], keyShares: [] },
        '422 invalid selfMaskShares.0.share',
      ],
      [
        { selfMaskShares: [{ ...s1, share: 'A' }], keyShares: [] },
        '422 invalid selfMaskShares.0.share',
      ],
      [{ selfMaskShares: [] }, '422 invalid keyShares'],
    ]
    for (const [bad, expected] of cases)
      expect(await outcome(() => c.round.reveal(p0, bad as never))).toBe(expected)
    // Nothing of a refused reveal was kept.
    expect(c.round.stats.revealed).toEqual([])
    expect(await outcome(() => c.round.reveal(p4, good))).toBe('409 dropped id')
    c.round.reveal(p0, good)
    expect(await outcome(() => c.round.reveal(p0, good))).toBe('409 duplicate id')
  })

  it('refuses options it cannot run with', () => {
    const bad = (o: object) => {
      try {
        createSecAggRound({ length: 4, range: 1, ...o })
        return 'ok'
      } catch (e) {
        return (e as { field: string }).field
      }
    }
    expect(bad({ length: 0 })).toBe('length')
    expect(bad({ range: -1 })).toBe('range')
    expect(bad({ thresholdShare: 0.5 })).toBe('thresholdShare')
    expect(bad({ minSurvivors: 1 })).toBe('minSurvivors')
    expect(bad({ dropoutRate: 1 })).toBe('dropoutRate')
    expect(bad({ degree: 256 })).toBe('degree')
    expect(bad({})).toBe('ok')
  })
})
