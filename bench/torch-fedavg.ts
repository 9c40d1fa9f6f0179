// The PyTorch side of bench:accuracy: hands bench/torch_fedavg.py the same shards, held-out set
// and initial weights as Pollen's side (files in a work folder), then asks it for one round at a
// time with the devices Pollen's side trained that round.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Examples } from '../shared/data/index.ts'
import type { NamedTensor } from '../shared/tensors/index.ts'
import type { Protocol, RoundResult } from './fedavg.ts'

const SCRIPT = fileURLToPath(new URL('torch_fedavg.py', import.meta.url))
export const PYTHON = '/usr/bin/python3'

export interface TorchFedAvg {
  round(round: number, devices: readonly number[]): Promise<RoundResult>
  close(): Promise<void>
}

const bytesOf = (a: ArrayBufferView): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

/** One features array of every example in `parts`, in order, of the parts' own type. */
function concatFeatures(parts: readonly Examples[]): Uint8Array | Float32Array {
  const total = parts.reduce((n, p) => n + p.features.length, 0)
  const out =
    parts[0]!.features instanceof Float32Array ? new Float32Array(total) : new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p.features, at)
    at += p.features.length
  }
  return out
}

async function writeWork(
  dir: string,
  shards: readonly Examples[],
  test: Examples,
  initial: readonly NamedTensor[],
  protocol: Protocol,
  classes: number,
): Promise<void> {
  let offset = 0
  const manifest = {
    learningRate: protocol.learningRate,
    batchSize: protocol.batchSize,
    localEpochs: protocol.localEpochs,
    shape: test.shape,
    classes,
    dtype: test.features instanceof Float32Array ? 'float32' : 'uint8',
    shards: shards.map((s) => {
      const entry = { offset, count: s.count }
      offset += s.count
      return entry
    }),
    test: test.count,
    weights: initial.map((t) => ({ name: t.name, shape: t.shape })),
  }
  const labels = new Uint8Array(offset)
  let at = 0
  for (const s of shards) {
    labels.set(s.labels, at)
    at += s.count
  }
  const weights = new Float32Array(initial.reduce((n, t) => n + t.data.length, 0))
  at = 0
  for (const t of initial) {
    weights.set(t.data, at)
    at += t.data.length
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest))
  await writeFile(join(dir, 'shards.bin'), bytesOf(concatFeatures(shards)))
  await writeFile(join(dir, 'shards-labels.bin'), labels)
  await writeFile(join(dir, 'test.bin'), bytesOf(test.features))
  await writeFile(join(dir, 'test-labels.bin'), test.labels)
  await writeFile(join(dir, 'init.bin'), bytesOf(weights))
}

/**
 * Starts the reference with `threads` threads on the given run, or throws saying why it cannot
 * (no Python, no torch, the script failing to load the files).
 */
export async function startTorchFedAvg(options: {
  shards: readonly Examples[]
  test: Examples
  initial: readonly NamedTensor[]
  protocol: Protocol
  classes: number
  threads: number
}): Promise<TorchFedAvg> {
  if (!existsSync(PYTHON))
    throw new Error(`${PYTHON} is missing (apt-get install -y python3-torch)`)
  const dir = await mkdtemp(join(tmpdir(), 'pollen-fedavg-'))
  try {
    await writeWork(
      dir,
      options.shards,
      options.test,
      options.initial,
      options.protocol,
      options.classes,
    )
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  const child = spawn(PYTHON, [SCRIPT, '--work', dir, '--threads', String(options.threads)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the PyTorch reference exited (${code})`)))
  })
  exited.catch(() => {}) // read only while a line is awaited
  const next = async (): Promise<unknown> => {
    const line = await Promise.race([lines.next(), exited])
    if (line.done) throw new Error('the PyTorch reference closed its output')
    return JSON.parse(line.value)
  }
  const close = async () => {
    child.stdin.end()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await next() // {"ready": true}: torch imported and the files loaded
  } catch (error) {
    await close()
    throw error
  }
  return {
    async round(round, devices) {
      child.stdin.write(`${round} ${options.protocol.seed} ${devices.join(',')}\n`)
      const answer = (await next()) as RoundResult
      if (answer.round !== round)
        throw new Error(`the PyTorch reference answered round ${answer.round} for ${round}`)
      return answer
    },
    close,
  }
}
