// The native reference of bench:train: bench/torch_reference.py --serve, one process per thread
// count, which keeps its warmed-up models and trains one timed epoch whenever it is asked.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { MnistPresetName } from '../shared/models/index.ts'

const SCRIPT = fileURLToPath(new URL('torch_reference.py', import.meta.url))
const PYTHON = '/usr/bin/python3'

export interface Reference {
  threads: number
  /** Trains one timed epoch of `model` on `examples` random inputs; examples/s. */
  epoch(model: MnistPresetName, examples: number): Promise<number>
  close(): void
}

/** PyTorch on the CPU with `threads` threads, or null where it cannot run (said on stderr). */
export async function startReference(threads: number, batch: number): Promise<Reference | null> {
  if (!existsSync(PYTHON)) {
    console.error(`no PyTorch reference: ${PYTHON} is missing (apt-get install -y python3-torch)`)
    return null
  }
  const child = spawn(
    PYTHON,
    [SCRIPT, '--serve', '--threads', String(threads), '--batch-size', String(batch)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the PyTorch reference exited (${code})`))),
  )
  exited.catch(() => {}) // read only while an epoch waits on it
  const reference: Reference = {
    threads,
    async epoch(model, examples) {
      child.stdin.write(`${model} ${examples}\n`)
      const line = await Promise.race([lines.next(), exited])
      if (line.done) throw new Error('the PyTorch reference closed its output')
      return examples / (JSON.parse(line.value) as { seconds: number }).seconds
    },
    close: () => child.stdin.end(),
  }
  try {
    await reference.epoch('mnist-2nn', batch) // starts torch, and says whether it can
    return reference
  } catch (error) {
    console.error(`no PyTorch reference (apt-get install -y python3-torch): ${String(error)}`)
    reference.close()
    return null
  }
}
