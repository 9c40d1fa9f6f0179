import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeMnist, labelHistogram } from '../shared/data/index.ts'
import { buildMnist, loadMnist, readMnistSource } from './mnist-file.ts'

describe('mnist file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pollen-mnist-'))
  const out = join(dir, 'sub', 'mnist.bin')
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('builds a stratified 80/20 split of the 10,000 digits', async () => {
    const r = await buildMnist({ out })
    expect(r).toMatchObject({ built: true, train: 8000, test: 2000, bytes: 24 + 10000 * 785 })
    const { train, test } = decodeMnist(await readFile(out))
    const source = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    expect(labelHistogram(train, 10)).toEqual(source.map((n) => Math.round(n * 0.8)))
    expect(labelHistogram(test, 10)).toEqual(source.map((n) => n - Math.round(n * 0.8)))
    // Shuffled: the first 100 training digits are not all one label.
    expect(new Set(train.labels.subarray(0, 100)).size).toBe(10)
    expect(Math.max(...train.features.subarray(0, 784 * 10))).toBe(255)
  })

  it('skips an up-to-date file and rebuilds identical bytes when forced', async () => {
    const before = await readFile(out)
    const mtime = (await stat(out)).mtimeMs
    expect((await buildMnist({ out })).built).toBe(false)
    expect((await stat(out)).mtimeMs).toBe(mtime)
    expect((await buildMnist({ out, force: true })).built).toBe(true)
    expect(Buffer.compare(await readFile(out), before)).toBe(0)
  })

  it('loadMnist decodes the default file, same as the source', async () => {
    const [file, source] = await Promise.all([loadMnist(), readMnistSource()])
    expect(Buffer.compare(file.test.features, source.test.features)).toBe(0)
    expect(Buffer.compare(file.train.labels, source.train.labels)).toBe(0)
    await expect(loadMnist(join(dir, 'missing.bin'))).rejects.toThrow(/ENOENT/)
  })
})
