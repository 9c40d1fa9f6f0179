import { decodeMaskedUpdate } from '../../shared/secagg/index.ts'
import { applyMask } from '../../shared/secagg/prg.ts'
import { readContainer } from '../../shared/tensors/index.ts'
import type { Core, LiveRound, LiveTask } from '../rounds/live.ts'
import type { RoundAggregation } from '../strategy/index.ts'
import type { Ledger, PartialSum, SpoolRow } from './ledger.ts'

/** A secure round's masked inputs this replica took, summed modulo 2³². */
export interface MaskedSum {
  sum: Uint32Array
  /** The devices whose inputs it sums, in the order they came. */
  devices: string[]
}

/** Where gathered parts go: partials merged, spooled updates folded one by one. */
interface Sink {
  merge?: ((p: PartialSum) => void) | undefined
  fold: (row: SpoolRow) => void
}

const sameDevices = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((d, i) => d === b[i])

/**
 * Hierarchical aggregation: each replica writes its partial sum of a closing round (the devices
 * it covers named), and the round's owner merges them. A replica that is dead, or whose partial
 * does not cover what it spooled within `waitMs`, is replaced by its spooled updates; a round
 * whose maths does not add up (a robust rule, a bound calibrated within the round) is fed the
 * whole spool. A secure round's partials are modular sums of masked inputs, and its spool holds
 * the masked frames.
 */
export function createPartials(
  core: Core,
  {
    ledger,
    replicaId,
    alive,
    waitMs,
    pollMs,
    masked,
  }: {
    ledger: Ledger
    replicaId: string
    alive: (replicaId: string) => Promise<boolean>
    waitMs: number
    pollMs: number
    /** This replica's masked sum of a secure round, if it took any of its inputs. */
    masked: (taskId: string, n: number) => MaskedSum | undefined
  },
) {
  const { clock, log } = core
  /** How many devices each round's written partial covered (written again if more came). */
  const written = new WeakMap<LiveRound, number>()

  const devicesOf = (round: LiveRound) =>
    [...round.devices].flatMap(([id, state]) => (state === 'reported' ? [id] : [])).sort()

  /** This replica's partial of a closing round, stored (once per set of devices it covers). */
  async function write(live: LiveTask, round: LiveRound): Promise<void> {
    const n = round.record.round
    const modular = masked(live.record.id, n)
    const partial = round.aggregation.partial
    // Sorted once here, as the partial records them, not at every upload.
    const devices = modular ? [...modular.devices].sort() : devicesOf(round)
    if ((!modular && !partial) || devices.length === 0 || written.get(round) === devices.length)
      return
    const state: Pick<PartialSum, 'reports' | 'examples' | 'weight' | 'sum' | 'extra'> = modular
      ? {
          reports: devices.length,
          examples: 0,
          weight: 0,
          sum: Float64Array.from(modular.sum),
          extra: { modular: true },
        }
      : partial!()
    await ledger.writePartial({
      taskId: live.record.id,
      round: n,
      replicaId,
      devices,
      reports: state.reports,
      examples: state.examples,
      weight: state.weight,
      sum: state.sum,
      extra: state.extra,
      writtenAt: clock.now(),
    })
    written.set(round, devices.length)
  }

  /** The spooled updates of a round (some replicas', or all), each into `fold`. */
  async function foldSpool(
    live: LiveTask,
    n: number,
    fold: Sink['fold'],
    replicaIds?: readonly string[],
  ) {
    for await (const row of ledger.spool(live.record.id, n, replicaIds)) {
      try {
        fold(row)
      } catch (error) {
        log(`task ${live.record.id} round ${n}: spooled ${row.deviceId} left out: ${String(error)}`)
      }
    }
  }

  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms))

  /**
   * Every replica's part of round `n` into `sink`: its partial merged where it covers what that
   * replica spooled, its spool folded otherwise. Waits up to `waitMs` for replicas that are
   * alive to write theirs.
   */
  async function gatherInto(live: LiveTask, n: number, { merge, fold }: Sink) {
    if (!merge) return foldSpool(live, n, fold)
    const spooled = await ledger.spooledBy(live.record.id, n)
    const pending = new Set(spooled.keys())
    const until = clock.now() + waitMs
    const fallback: string[] = []
    while (pending.size > 0) {
      const partials = new Map(
        (await ledger.partials(live.record.id, n)).map((p) => [p.replicaId, p]),
      )
      for (const id of [...pending]) {
        const p = partials.get(id)
        if (p && sameDevices(p.devices, spooled.get(id)!)) {
          pending.delete(id)
          try {
            merge(p)
          } catch (error) {
            log(
              `task ${live.record.id} round ${n}: the partial of ${id} does not fit (${String(error)}): its spool is read`,
            )
            fallback.push(id)
          }
        } else if (id !== replicaId && !(await alive(id))) {
          fallback.push(id)
          pending.delete(id)
        }
      }
      if (pending.size === 0) break
      if (clock.now() >= until) {
        log(
          `task ${live.record.id} round ${n}: no partial from ${[...pending].join(', ')} in ${waitMs} ms: their spool is read`,
        )
        fallback.push(...pending)
        break
      }
      await sleep(pollMs)
    }
    if (fallback.length === 0) return
    log(`task ${live.record.id} round ${n}: reading the spooled updates of ${fallback.join(', ')}`)
    await foldSpool(live, n, fold, fallback)
  }

  /** The owner's aggregation of round `n`: every replica's part, folded as they took them. */
  const gather = (live: LiveTask, n: number, aggregation: RoundAggregation) =>
    gatherInto(live, n, aggregationSink(aggregation))

  /** A secure round's masked inputs, summed modulo 2³² from every replica's part. */
  async function gatherMasked(live: LiveTask, n: number, length: number): Promise<Uint32Array> {
    const total = new Uint32Array(length)
    await gatherInto(live, n, maskedSink(total))
    return total
  }

  return { write, gather, gatherMasked }
}

export type Partials = ReturnType<typeof createPartials>

/** Parts into a round's aggregation: partials merged, spooled updates decoded and accepted. */
const aggregationSink = (aggregation: RoundAggregation): Sink => ({
  merge: aggregation.merge,
  fold: (row) =>
    aggregation.accept({
      deviceId: row.deviceId,
      // Checked again as it is read (the spool is trusted no more than a body); a compressed
      // update stays encoded and the mean adds it block by block.
      delta: readContainer(row.bytes).tensors,
      examples: row.examples,
      steps: row.steps,
      ...(row.loss !== null ? { loss: row.loss } : {}),
      ...(row.staleness !== null ? { staleness: row.staleness } : {}),
    }),
})

/** Parts of a secure round into `total`, modulo 2³²: modular partials, spooled masked frames. */
function maskedSink(total: Uint32Array): Sink {
  const part = new Uint32Array(total.length)
  return {
    merge(p) {
      if (p.extra.modular !== true || p.sum.length !== total.length)
        throw new Error(`not a modular sum of ${total.length} words`)
      part.set(p.sum)
      applyMask(total, part, 1)
    },
    fold: (row) =>
      applyMask(total, decodeMaskedUpdate(row.bytes, { expectedLength: total.length }).masked, 1),
  }
}
