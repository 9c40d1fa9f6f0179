import { mulberry32, type Examples } from '../../shared/data/index.ts'
import { type Partition, partitionExamples } from '../../shared/data/partition.ts'
import type { Codec } from '../../shared/tensors/index.ts'
import { createDevice, sleep, type DeviceEvent, type Trainer } from '../device/index.ts'

export interface SimulationOptions {
  server: string
  clients: number
  /** How the examples are dealt: 'noniid' is McMahan et al.'s two classes per device. */
  partition: 'iid' | 'noniid' | Partition
  /** Training examples to shard across the clients. */
  examples: Examples
  /** The dataset the devices declare they hold (default mnist). */
  dataset?: string
  /** An enrolment the first device goes on with (the one that asked for the dataset's spec). */
  enrolment?: { deviceId: string; token: string }
  trainer: Trainer
  /** Share of devices that are 5–10× slower (they wait that much longer before uploading). */
  slow?: number
  /** Exactly this many slow devices instead (the first ones), for tests that count them. */
  slowDevices?: number
  /** Probability that a device drops an assignment: it trains, never uploads, and comes back after the deadline. */
  drop?: number
  seed?: number
  /**
   * The codecs devices wish to upload in, in turn: device i the (i mod n)-th (default float32),
   * held to what each assignment accepts. A top-k device keeps its residual in memory.
   */
  codecs?: readonly Codec[]
  signal?: AbortSignal
  onEvent?: (device: number, event: DeviceEvent) => void
}

export interface SimulationSummary {
  devices: number
  accepted: number
  late: number
  rejected: number
  dropped: number
  /** Accepted updates that stopped early because the deadline was near (partial work). */
  partial: number
  /** The labels of the slow devices. */
  slowLabels: string[]
  /** Bytes of the plain updates sent (answered), by codec. */
  bytesUp: Partial<Record<Codec, number>>
}

/**
 * A slow device trains at the trainer's speed and then waits `factor` − 1 times as long before
 * it uploads. To see its deadline coming as a phone that slow would, it stops training when it
 * would have reached the stop time: after 1/factor of the time left.
 */
export function slowedTrainer(trainer: Trainer, factor: number, now = Date.now): Trainer {
  if (factor === 1) return trainer
  return {
    train(job) {
      if (job.stopAt === undefined) return trainer.train(job)
      const start = now()
      return trainer.train({ ...job, stopAt: start + (job.stopAt - start) / factor })
    },
  }
}

/**
 * N headless devices, each with its shard, running the same device runtime as the browser
 * until the tasks they can join are done.
 */
export async function simulate(options: SimulationOptions): Promise<SimulationSummary> {
  const { clients, slow = 0, drop = 0, seed = 1 } = options
  const random = mulberry32(seed)
  const partition: Partition =
    options.partition === 'iid'
      ? { kind: 'iid' }
      : options.partition === 'noniid'
        ? { kind: 'classes', perDevice: 2 }
        : options.partition
  const shards = partitionExamples(options.examples, clients, partition, seed)
  const isSlow = (i: number) =>
    options.slowDevices === undefined ? random() < slow : i < options.slowDevices
  const slowFactor = shards.map((_, i) => (isSlow(i) ? 5 + 5 * random() : 1))
  const summary: SimulationSummary = {
    devices: clients,
    accepted: 0,
    late: 0,
    rejected: 0,
    dropped: 0,
    partial: 0,
    slowLabels: slowFactor.flatMap((f, i) => (f > 1 ? [`sim-${i}`] : [])),
    bytesUp: {},
  }
  const codecs = options.codecs?.length ? options.codecs : undefined

  const runs = shards.map((examples, i) => {
    // What this device delivered last round, slowness included: its speed at the next check-in.
    let examplesPerSecond: number | undefined
    let partial = false
    const device = createDevice({
      server: options.server,
      trainer: slowedTrainer(options.trainer, slowFactor[i]!),
      examples,
      backend: 'wasm',
      label: `sim-${i}`,
      ...(options.dataset ? { dataset: options.dataset } : {}),
      ...(i === 0 && options.enrolment ? { enrolment: options.enrolment } : {}),
      examplesPerSecond: () => examplesPerSecond,
      ...(codecs ? { codec: () => codecs[i % codecs.length]! } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      beforeUpload: async (assignment, trainedMs) => {
        if (random() < drop) {
          await sleep(Date.parse(assignment.deadline) - Date.now() + 100, options.signal)
          return 'drop'
        }
        if (slowFactor[i]! > 1) await sleep(trainedMs * (slowFactor[i]! - 1), options.signal)
        return 'upload'
      },
      onEvent: (event) => {
        if (event.type === 'trained') {
          partial = event.partial
          if (event.ms > 0)
            examplesPerSecond = Math.round((1000 * event.examples) / (event.ms * slowFactor[i]!))
        }
        if (event.type === 'uploaded') {
          const type = event.answer.type
          if (event.codec)
            summary.bytesUp[event.codec] = (summary.bytesUp[event.codec] ?? 0) + event.bytes
          if (type === 'accepted') summary.accepted++
          if (type === 'accepted' && partial) summary.partial++
          else if (type === 'late') summary.late++
          else if (type === 'rejected') summary.rejected++
        }
        if (event.type === 'dropped') summary.dropped++
        options.onEvent?.(i, event)
      },
    })
    return device.run()
  })
  await Promise.all(runs)
  return summary
}
