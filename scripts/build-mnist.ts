// `npm run data`: builds public/data/mnist.bin from the `mnist` package (skipped when up to date).
import { relative } from 'node:path'
import { buildMnist } from '../data/mnist-file.ts'

const force = process.argv.includes('--force')
const r = await buildMnist({ force })
console.log(
  `mnist: ${relative(process.cwd(), r.path)} ${r.built ? 'written' : 'up to date'}, ` +
    `${r.train} train + ${r.test} test digits, ${(r.bytes / 1e6).toFixed(1)} MB`,
)
