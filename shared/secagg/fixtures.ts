import { mulberry32 } from '../data/random.ts'
import {
  type CollectView,
  createSecAggClient,
  type SecAggClient,
  type ShareView,
  type UnmaskView,
} from './client.ts'
import type { SecAggStage, SecAggView } from './messages.ts'
import { createSecAggRound, type SecAggRound, type SecAggRoundOptions } from './server.ts'

/** Test helpers: a round and its participants, driven stage by stage through the real API. */
export interface Cohort {
  round: SecAggRound
  clients: Map<string, SecAggClient>
  ids: string[]
}

export const ids = (n: number, prefix = 'p') =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`)

export async function cohort(
  names: string[],
  options: Partial<SecAggRoundOptions> = {},
): Promise<Cohort> {
  const round = createSecAggRound({ length: 16, range: 1, random: mulberry32(7), ...options })
  const clients = new Map<string, SecAggClient>()
  for (const client of await Promise.all(names.map((id) => createSecAggClient(id))))
    clients.set(client.id, client)
  return { round, clients, ids: names }
}

const client = (c: Cohort, id: string) => c.clients.get(id)!

/** View narrowing for tests: fails loudly if the server asks something else. */
export function viewAs<S extends 'share' | 'collect' | 'unmask'>(
  view: SecAggView,
  stage: S,
): Extract<SecAggView, { stage: S; waiting: false }> {
  if (view.stage !== stage || view.waiting)
    throw new Error(`expected a ${stage} view, got ${JSON.stringify(view)}`)
  return view as Extract<SecAggView, { stage: S; waiting: false }>
}

export function advertise(c: Cohort, who: string[] = c.ids): void {
  for (const id of who) c.round.advertise(id, client(c, id).keys())
}

export async function share(c: Cohort, who: string[]): Promise<void> {
  for (const id of who) {
    const view: ShareView = viewAs(c.round.view(id), 'share')
    c.round.share(id, await client(c, id).share(view))
  }
}

/** Each participant in `who` masks its vector from `vectors` and uploads it. */
export async function collect(
  c: Cohort,
  who: string[],
  vectors: Map<string, Float32Array>,
): Promise<void> {
  for (const id of who) {
    const view: CollectView = viewAs(c.round.view(id), 'collect')
    c.round.collect(id, await client(c, id).mask(view, vectors.get(id)!))
  }
}

export function reveal(c: Cohort, who: string[]): void {
  for (const id of who) {
    const view: UnmaskView = viewAs(c.round.view(id), 'unmask')
    c.round.reveal(id, client(c, id).reveal(view))
  }
}

/** Random vectors in [−1.2·range, 1.2·range] (some entries get clamped), one per id. */
export function randomVectors(names: string[], length: number, seed: number, range = 1) {
  const random = mulberry32(seed)
  return new Map(
    names.map((id) => [id, Float32Array.from({ length }, () => (random() * 2 - 1) * 1.2 * range)]),
  )
}

/** The plain sum of the clamped vectors of `who`. */
export function plainSum(vectors: Map<string, Float32Array>, who: string[], range = 1) {
  const length = vectors.values().next().value?.length ?? 0
  const sum = new Float64Array(length)
  for (const id of who) {
    const v = vectors.get(id)!
    for (let i = 0; i < length; i++) sum[i]! += Math.min(range, Math.max(-range, v[i]!))
  }
  return sum
}

export interface Dropouts {
  /** Advertise, then never share. */
  afterAdvertise?: string[]
  /** Share, then send no masked input (their mask keys must be rebuilt). */
  afterShare?: string[]
  /** Send a masked input, then never reveal. */
  afterCollect?: string[]
}

/**
 * Drives a cohort to `until` (default: through the reveals, ready to finish), with the dropouts
 * given. Closes each stage by hand if it did not close by itself; stops early if abandoned.
 */
export async function drive(
  c: Cohort,
  vectors: Map<string, Float32Array>,
  { afterAdvertise = [], afterShare = [], afterCollect = [] }: Dropouts = {},
  until: SecAggStage = 'unmask',
): Promise<{ sharers: string[]; collectors: string[]; revealers: string[] }> {
  const sharers = c.ids.filter((id) => !afterAdvertise.includes(id))
  const collectors = sharers.filter((id) => !afterShare.includes(id))
  const revealers = collectors.filter((id) => !afterCollect.includes(id))
  const result = { sharers, collectors, revealers }
  // Read through a function: the stage changes under calls TypeScript cannot see into.
  const stage = (): SecAggStage => c.round.stage
  advertise(c)
  c.round.closeAdvertise()
  if (until === 'share' || stage() !== 'share') return result
  await share(c, sharers)
  if (stage() === 'share') c.round.closeShare()
  if (until === 'collect' || stage() !== 'collect') return result
  await collect(c, collectors, vectors)
  if (stage() === 'collect') c.round.closeCollect()
  if (stage() !== 'unmask') return result
  reveal(c, revealers)
  return result
}

/** What a call threw: 'ok', or "status code field". */
export async function outcome(call: () => unknown): Promise<string> {
  try {
    await call()
    return 'ok'
  } catch (e) {
    const { status, code, field } = e as { status?: number; code?: string; field?: string }
    return status ? `${status} ${code} ${field}` : String(e)
  }
}
