// The IDX reader on the real thing: Fashion-MNIST's test set as Debian installs it
// (dataset-fashion-mnist; .ci/run installs it when missing).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readIdx } from '../shared/data/formats/index.ts'
import { FASHION_MNIST as FASHION, FASHION_MNIST_DIR as DIR } from './fashion-mnist.ts'

describe('Fashion-MNIST t10k', () => {
  it('reads 10,000 images, 1,000 of each class, well under a second', async () => {
    const files = await Promise.all(
      ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map(async (name) => ({
        name,
        bytes: new Uint8Array(await readFile(join(DIR, name))),
      })),
    )
    // CPU time, not wall time: the machine running the tests may be busy with other work.
    const started = process.cpuUsage()
    const r = readIdx([files[0]!, files[1]!], FASHION, {
      maxExpandedBytes: 16 << 20,
      maxExamples: 10_000,
    })
    const spent = process.cpuUsage(started)
    const ms = (spent.user + spent.system) / 1000
    if (!r.ok) throw new Error(JSON.stringify(r.problems))
    expect(r.examples.count).toBe(10_000)
    expect(r.examples.shape).toEqual([28, 28, 1])
    expect(r.examples.features.length).toBe(10_000 * 784)
    const histogram = new Array<number>(10).fill(0)
    for (const label of r.examples.labels) histogram[label]! += 1
    expect(histogram).toEqual(new Array<number>(10).fill(1000))
    // The first test image is an ankle boot (class 9), as the dataset's documentation shows.
    expect(r.examples.labels[0]).toBe(9)
    // ~200 ms here; the bound is generous for slower machines.
    expect(ms).toBeLessThan(1000)
  })
})
