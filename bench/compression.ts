// Compressed updates (issue 18): bytes up and down per round and held-out accuracy after the
// same rounds, each codec against float32; encode time in a Chromium worker; decode-and-aggregate
// time per update on the coordinator's path.
//
//   npm run bench:compression [-- --help] [-- --quick]
//
// Accuracy and bytes run through a real coordinator (loopback HTTP, PGlite) with simulated devices
// (client/device's runtime, headless, TF.js wasm, one trainer for all: one job at a time) on
// non-IID shards (two classes per device), every device in every round, the same task seed,
// shards and training seeds for every codec; then float32 uploads with the model served as float16
// and as deltas (`--downloads`). The default, 10 devices × 100 examples, 10 rounds, mnist-2nn and
// mnist-cnn on MNIST and Fashion-MNIST, six upload codecs and two compressed downloads (16 tasks
// of 10 rounds), is sized for about 30 minutes on 2 quiet cores: a mnist-cnn round (1,000
// examples trained, 2,000 evaluated) costs about 10 s of CPU and takes most of it;
// `--downloads float32` leaves out the download tasks (about 25 minutes).
// The coordinator's uploads/s with compressed updates: `npm run bench:server -- --codec C`.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { useBackend } from '../shared/tf/index.ts'
import { type CompressionOptions, parseCompressionOptions, usage } from './compression-options.ts'
import { accuracyTable, type Row, summarise, timingTable } from './compression-report.ts'
import { type CodecRun, runAccuracy } from './compression-run.ts'
import { runTimings, type Timing } from './compression-timing.ts'

const log = (line: string) => console.error(line)

function title(options: CompressionOptions, date: string) {
  return (
    `Compressed uploads: ${options.devices} devices × ${options.examples} examples ` +
    `(${options.shardsName}), all every round, ${options.rounds} rounds, E = ${options.epochs}, ` +
    `B = ${options.batch}, lr = ${options.learningRate}, ` +
    `held-out ${options.heldOut}, seed ${options.seed} (${date})`
  )
}

async function main() {
  const options = parseCompressionOptions(process.argv.slice(2))
  if (options.help) return console.log(usage)
  const started = Date.now()
  const date = new Date().toISOString().slice(0, 10)
  await mkdir(options.out, { recursive: true })
  await useBackend('wasm')
  const file = join(options.out, 'compression.json')
  const runs: CodecRun[] = []
  let rows: Row[] = []
  let timings: Timing[] = []
  const save = () =>
    writeFile(
      file,
      JSON.stringify(
        {
          title: title(options, date),
          date,
          minutes: (Date.now() - started) / 60_000,
          options,
          summary: rows,
          timings,
          runs,
        },
        null,
        2,
      ) + '\n',
    )
  if (options.parts.includes('accuracy')) {
    // Written after every task: a run cut short keeps what it measured.
    await runAccuracy(options, log, async (run) => {
      runs.push(run)
      rows = summarise(runs)
      await save()
    })
  }
  if (options.parts.includes('node') || options.parts.includes('chromium'))
    timings = await runTimings(
      {
        codecs: options.codecs,
        repeats: options.repeats,
        chromium: options.parts.includes('chromium'),
      },
      log,
    )
  await save()
  const minutes = ((Date.now() - started) / 60_000).toFixed(1)
  if (rows.length > 0)
    console.log(`\n${title(options, date)}, ${minutes} min\n\n${accuracyTable(rows)}`)
  if (timings.length > 0)
    console.log(`\nPer update, median of ${options.repeats}\n\n${timingTable(timings)}`)
  console.log(`\n${file} written`)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error)
  process.exit(1)
})
