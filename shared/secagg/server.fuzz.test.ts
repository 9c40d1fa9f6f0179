import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/random.ts'
import { fuzzParameters, fuzzRuns, jsonPaths, nested, replaceAt } from '../fuzz.ts'
import { type Cohort, cohort, ids, plainSum, randomVectors, viewAs } from './fixtures.ts'
import { SecAggError } from './errors.ts'
import {
  KeysMessageSchema,
  RevealMessageSchema,
  type SecAggStage,
  SharesMessageSchema,
} from './messages.ts'
import { quantizationError } from './quantize.ts'
import type { SecAggRound } from './server.ts'
import { fromBase64url, toBase64url } from './wire.ts'

/**
 * One SecAgg+ round driven honestly, stage by stage, with hostile calls before every honest
 * one: out of order, repeated, from strangers and from participants who dropped, with
 * malformed, mislabelled and wrongly sized messages. Each hostile call must be refused with a
 * SecAggError and leave the round exactly as it was; the honest round must still unmask the
 * survivors' sum.
 *
 * Each case generates keys and runs the real cryptography, so it costs tens of milliseconds:
 * this property runs a twentieth of POLLEN_FUZZ_RUNS.
 */
const RUNS = Math.max(5, Math.ceil(fuzzRuns(300) / 20))
const params = fuzzParameters(RUNS)
const LENGTH = 16
const STRANGER = 'stranger'

/** Everything the round shows of itself: a refused call must leave all of it as it was. */
const snapshot = (round: SecAggRound) =>
  JSON.stringify({
    stage: round.stage,
    config: round.config,
    reason: round.reason,
    ready: round.ready,
    stats: round.stats,
  })

/**
 * One hostile call as fast-check draws it: `kind` picks the call, `variant` how its message is
 * spoilt, `at` whom or what it touches, `value` what it sends.
 */
interface Recipe {
  kind: number
  variant: number
  at: number
  value: unknown
}

/** Values no field of a stage message takes. */
const neverValid = fc.oneof(
  fc.constantFrom<unknown>(NaN, Infinity, { '(fuzz)': 1 }, null),
  fc.integer({ min: 50, max: 3000 }).map(nested),
)
const recipe: fc.Arbitrary<Recipe> = fc.record({
  kind: fc.nat(),
  variant: fc.nat(),
  at: fc.nat(),
  value: fc.oneof(neverValid, fc.jsonValue({ maxDepth: 2 })),
})

interface Step {
  c: Cohort
  /** The honest participant about to act, and what it is about to send. */
  actor: string
  message: unknown
  /** Honest participants that already did this stage's part. */
  done: string[]
  /** Participants that dropped out of the round earlier. */
  dropped: string[]
}

type HostileCall = (step: Step, r: Recipe) => () => unknown

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length]!

/**
 * A copy of base64url `text` the server can tell is wrong: the wrong size, padded, or out of
 * the alphabet. (Other bytes of the right size it cannot tell from a participant's own.)
 */
const spoil = (text: string, i: number) =>
  pick(
    [
      text.slice(0, -4),
      `${text}==`,
      `${text.slice(0, 4)}+${text.slice(5)}`,
      text.slice(0, -1),
      `${text}A`,
      `${text}AAAA`,
    ],
    i,
  )

/** A public key moved off the curve: one coordinate byte changed. */
const offCurve = (key: string, i: number) => {
  const bytes = fromBase64url(key, 'key')
  bytes[1 + (i % 64)]! ^= 1 << (i % 8)
  return toBase64url(bytes)
}

/** A message with one thing made wrong, chosen by `r`, that no round may take. */
function mutate(
  message: unknown,
  r: Recipe,
  schema: { safeParse(x: unknown): { success: boolean } },
) {
  const paths = jsonPaths(message)
  const options: (() => unknown)[] = [
    () => ({ ...(message as object), '(fuzz)': r.value }),
    () => replaceAt(message, pick(paths, r.at), nested(60)),
    () => replaceAt(message, pick(paths, r.at), NaN),
    // Anything at all in place of the message, unless (by chance) the schema takes it.
    () => (schema.safeParse(r.value).success ? { '(fuzz)': r.value } : r.value),
  ]
  return pick(options, r.variant)()
}

/** Calls that belong to no stage but the one named, made in the wrong one. */
function wrongStage(step: Step, r: Recipe, stage: SecAggStage): () => unknown {
  const { round } = step.c
  const calls: Record<string, () => unknown> = {
    advertise: () => round.advertise(STRANGER, step.c.clients.get(step.actor)!.keys()),
    closeAdvertise: () => round.closeAdvertise(),
    share: () => round.share(step.actor, { shares: [] }),
    closeShare: () => round.closeShare(),
    collect: () => round.collect(step.actor, new Uint32Array(LENGTH)),
    closeCollect: () => round.closeCollect(),
    reveal: () => round.reveal(step.actor, { selfMaskShares: [], keyShares: [] }),
    finish: () => round.finish(),
  }
  const own: Record<SecAggStage, string[]> = {
    advertise: ['advertise', 'closeAdvertise'],
    share: ['share', 'closeShare'],
    collect: ['collect', 'closeCollect'],
    unmask: ['reveal', 'finish'],
    done: [],
    abandoned: [],
  }
  const wrong = Object.keys(calls).filter((name) => !own[stage].includes(name))
  return calls[pick(wrong, r.at)]!
}

type SharesMsg = { shares: { to: string; ciphertext: string }[] }
type RevealMsg = {
  selfMaskShares: { of: string; share: string }[]
  keyShares: { of: string; share: string }[]
}

const hostile: Record<'advertise' | 'share' | 'collect' | 'unmask' | 'done', HostileCall[]> = {
  advertise: [
    (s, r) => () => s.c.round.advertise(s.actor, mutate(s.message, r, KeysMessageSchema) as never),
    (s, r) => () => {
      const keys = s.message as { encryptionKey: string; maskKey: string }
      const field = r.at % 2 === 0 ? 'encryptionKey' : 'maskKey'
      const spoilt = r.variant % 2 === 0 ? spoil(keys[field], r.at) : offCurve(keys[field], r.at)
      return s.c.round.advertise(s.actor, { ...keys, [field]: spoilt })
    },
    (s) => () => {
      const keys = s.message as { encryptionKey: string }
      return s.c.round.advertise(s.actor, {
        encryptionKey: keys.encryptionKey,
        maskKey: keys.encryptionKey,
      })
    },
    (s, r) => () =>
      s.c.round.advertise(pick(['', 'x'.repeat(101), 5, null], r.at) as string, s.message as never),
    // Someone else's keys, once they are taken, and a second advertisement.
    (s, r) => () =>
      s.done.length > 0
        ? s.c.round.advertise(STRANGER, s.c.clients.get(pick(s.done, r.at))!.keys())
        : s.c.round.closeShare(),
    (s, r) => () =>
      s.done.length > 0
        ? s.c.round.advertise(pick(s.done, r.at), s.c.clients.get(pick(s.done, r.at))!.keys())
        : s.c.round.collect(s.actor, new Uint32Array(LENGTH)),
    (s, r) => wrongStage(s, r, 'advertise'),
  ],
  share: [
    (s, r) => () => s.c.round.share(s.actor, mutate(s.message, r, SharesMessageSchema) as never),
    (s, r) => () => {
      const { shares } = s.message as SharesMsg
      const i = r.at % shares.length
      const edits: SharesMsg['shares'][] = [
        shares.filter((_, j) => j !== i),
        [...shares, shares[i]!],
        shares.map((x, j) => (j === i ? { ...x, to: s.actor } : x)),
        shares.map((x, j) => (j === i ? { ...x, to: STRANGER } : x)),
        shares.map((x, j) =>
          j === i ? { ...x, ciphertext: spoil(x.ciphertext, r.variant >> 3) } : x,
        ),
      ]
      return s.c.round.share(s.actor, { shares: pick(edits, r.variant) })
    },
    (s) => () => s.c.round.share(STRANGER, s.message as never),
    (s, r) => () =>
      s.done.length > 0
        ? s.c.round.share(pick(s.done, r.at), s.message as never)
        : s.c.round.view(STRANGER),
    (s) => () => s.c.round.view(STRANGER),
    (s, r) => wrongStage(s, r, 'share'),
  ],
  collect: [
    (s, r) => () =>
      s.c.round.collect(
        s.actor,
        pick<unknown>(
          [
            new Uint32Array(LENGTH - 1),
            new Uint32Array(LENGTH + 1),
            new Uint32Array(0),
            new Float32Array(LENGTH),
            new Int32Array(LENGTH),
            Array.from({ length: LENGTH }, () => 1),
            null,
            r.value,
          ],
          r.variant,
        ) as Uint32Array,
      ),
    (s) => () => s.c.round.collect(STRANGER, s.message as Uint32Array),
    (s, r) => () =>
      s.done.length > 0
        ? s.c.round.collect(pick(s.done, r.at), s.message as Uint32Array)
        : s.c.round.view(STRANGER),
    (s, r) => () =>
      s.dropped.length > 0
        ? s.c.round.collect(pick(s.dropped, r.at), s.message as Uint32Array)
        : s.c.round.closeShare(),
    (s, r) => wrongStage(s, r, 'collect'),
  ],
  unmask: [
    (s, r) => () => s.c.round.reveal(s.actor, mutate(s.message, r, RevealMessageSchema) as never),
    (s, r) => () => s.c.round.reveal(s.actor, spoilReveal(s, r) as never),
    (s) => () => s.c.round.reveal(STRANGER, s.message as never),
    (s, r) => () =>
      s.done.length > 0
        ? s.c.round.reveal(pick(s.done, r.at), s.message as never)
        : s.c.round.view(STRANGER),
    (s, r) => () =>
      s.dropped.length > 0
        ? s.c.round.reveal(pick(s.dropped, r.at), s.message as never)
        : s.c.round.closeCollect(),
    (s, r) => wrongStage(s, r, 'unmask'),
  ],
  done: [(s, r) => wrongStage(s, r, 'done'), (s) => () => s.c.round.view(STRANGER)],
}

/** A reveal with one share made wrong in a way the server can see. */
function spoilReveal(s: Step, r: Recipe): unknown {
  const message = s.message as RevealMsg
  const { selfMaskShares: self, keyShares: keys } = message
  const i = r.at
  const first = self[i % self.length]!
  // Another holder's x-coordinate (1 to 255): a share the actor does not hold.
  const xShifted = (share: string) => {
    const bytes = fromBase64url(share, 'share')
    bytes[0] = (bytes[0]! % 255) + 1
    return toBase64url(bytes)
  }
  const edits: RevealMsg[] = [
    { ...message, selfMaskShares: self.map((x) => (x === first ? { ...x, of: s.actor } : x)) },
    { ...message, selfMaskShares: self.map((x) => (x === first ? { ...x, of: STRANGER } : x)) },
    { ...message, selfMaskShares: [...self, first] },
    {
      ...message,
      selfMaskShares: self.map((x) =>
        x === first ? { ...x, share: spoil(x.share, r.variant >> 3) } : x,
      ),
    },
    {
      ...message,
      selfMaskShares: self.map((x) => (x === first ? { ...x, share: xShifted(x.share) } : x)),
    },
    // A survivor's mask key asked for: with its self mask that would bare its input.
    { ...message, keyShares: [...keys, first] },
    ...(keys.length > 0
      ? [
          { ...message, selfMaskShares: [...self, keys[i % keys.length]!] },
          { selfMaskShares: self, keyShares: [...keys, keys[i % keys.length]!] },
        ]
      : []),
  ]
  return pick(edits, r.variant)
}

/** Runs a hostile call: refused with a SecAggError, the round as it was. */
async function expectRefused(round: SecAggRound, call: () => unknown): Promise<void> {
  const before = snapshot(round)
  let error: unknown = 'answered'
  try {
    await call()
  } catch (e) {
    error = e
  }
  expect(snapshot(round)).toBe(before)
  expect(error).toBeInstanceOf(SecAggError)
  expect([409, 422]).toContain((error as SecAggError).status)
}

const scenario = fc.record({
  n: fc.integer({ min: 4, max: 6 }),
  /** One participant shares, then sends no input: its mask key must be rebuilt. */
  dropout: fc.boolean(),
  seed: fc.nat(),
  /** Hostile calls per stage, spread over the honest calls of that stage. */
  recipes: fc.record({
    advertise: fc.array(recipe, { minLength: 1, maxLength: 12 }),
    share: fc.array(recipe, { minLength: 1, maxLength: 12 }),
    collect: fc.array(recipe, { minLength: 1, maxLength: 12 }),
    unmask: fc.array(recipe, { minLength: 1, maxLength: 12 }),
    done: fc.array(recipe, { minLength: 1, maxLength: 4 }),
  }),
})

describe('SecAgg+ server under fuzzing', () => {
  it('refuses hostile calls at every stage without a trace, and still unmasks the honest sum', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ n, dropout, seed, recipes }) => {
        const names = ids(n)
        const c = await cohort(names, { length: LENGTH, random: mulberry32(seed) })
        const vectors = randomVectors(names, LENGTH, seed)
        const quitter = dropout && n >= 5 ? names[n - 1]! : null
        const collectors = names.filter((id) => id !== quitter)
        /** The stage's hostile calls that fall before its `turn`th honest call, of `turns`. */
        const attack = async (
          stage: keyof typeof hostile,
          step: Omit<Step, 'c'>,
          turn = 0,
          turns = 1,
        ) => {
          for (const [j, r] of recipes[stage].entries()) {
            if (j % turns !== turn) continue
            const call = pick(hostile[stage], r.kind)({ c, ...step }, r)
            await expectRefused(c.round, call)
          }
        }
        const actingIn = async (
          stage: keyof typeof hostile,
          who: string[],
          act: (
            id: string,
          ) =>
            | { message: unknown; send: () => unknown }
            | Promise<{ message: unknown; send: () => unknown }>,
          dropped: string[] = [],
        ) => {
          for (const [i, id] of who.entries()) {
            const { message, send } = await act(id)
            await attack(
              stage,
              { actor: id, message, done: who.slice(0, i), dropped },
              i,
              who.length,
            )
            await send()
          }
        }

        await actingIn('advertise', names, (id) => {
          const keys = c.clients.get(id)!.keys()
          return { message: keys, send: () => c.round.advertise(id, keys) }
        })
        expect(c.round.closeAdvertise()).toBe('share')
        await actingIn('share', names, async (id) => {
          const message = await c.clients.get(id)!.share(viewAs(c.round.view(id), 'share'))
          return { message, send: () => c.round.share(id, message) }
        })
        expect(c.round.stage).toBe('collect')
        await actingIn('collect', collectors, async (id) => {
          const view = viewAs(c.round.view(id), 'collect')
          const masked = await c.clients.get(id)!.mask(view, vectors.get(id)!)
          return { message: masked, send: () => c.round.collect(id, masked) }
        })
        if (c.round.stage === 'collect') expect(c.round.closeCollect()).toBe('unmask')
        await actingIn(
          'unmask',
          collectors,
          (id) => {
            const message = c.clients.get(id)!.reveal(viewAs(c.round.view(id), 'unmask'))
            return { message, send: () => c.round.reveal(id, message) }
          },
          quitter ? [quitter] : [],
        )
        expect(c.round.ready).toBe(true)
        const result = await c.round.finish()
        await attack('done', { actor: names[0]!, message: null, done: names, dropped: [] })

        expect(result.survivors).toEqual([...collectors].sort())
        const expected = plainSum(vectors, collectors)
        const tolerance = quantizationError(result.count, c.round.config!.scale) + 1e-9
        for (let i = 0; i < LENGTH; i++)
          expect(Math.abs(result.sum[i]! - expected[i]!)).toBeLessThanOrEqual(tolerance)
      }),
      params,
    )
  })
})
