import { formatShape, labelHistogram } from '../../shared/data/index.ts'
import { formatPartition } from '../../shared/data/partition.ts'
import { useBackend } from '../../shared/tf/index.ts'
import { localTrainer } from '../device/index.ts'
import { simulatorData } from './dataset.ts'
import { parseSimOptions, usage } from './options.ts'
import { simulate } from './simulate.ts'

async function main() {
  const options = parseSimOptions(process.argv.slice(2))
  if (options.help) return console.log(usage)
  await useBackend('wasm')
  const { spec, examples, enrolment } = await simulatorData(options)
  if (options.clients > examples.count)
    throw new RangeError(
      `--clients ${options.clients} is more than the ${examples.count} examples to share out`,
    )
  const histogram = labelHistogram(examples, spec.classes.length)
  console.log(
    `${spec.name}: ${examples.count} examples of ${formatShape(examples.shape)}, ` +
      spec.classes.map((c, k) => `${c} ${histogram[k]}`).join(', ') +
      `; ${options.clients} devices, ${formatPartition(options.shards)}`,
  )
  const started = Date.now()
  const summary = await simulate({
    server: options.server,
    clients: options.clients,
    partition: options.shards,
    examples,
    dataset: spec.name,
    ...(enrolment ? { enrolment } : {}),
    trainer: localTrainer(),
    slow: options.slow,
    drop: options.drop,
    seed: options.seed,
    codecs: options.codecs,
    onEvent: (i, event) => {
      if (event.type === 'uploaded')
        console.log(
          `device ${i}: task ${event.taskId.slice(0, 8)} round ${event.round}: ${event.answer.type}` +
            (event.codec ? ` (${event.bytes} bytes, ${event.codec})` : ''),
        )
      else if (event.type === 'dropped')
        console.log(`device ${i}: round ${event.round}: dropped (simulated)`)
      else if (event.type === 'done') console.log(`device ${i}: done (${event.reason})`)
    },
  })
  console.log(
    `${summary.devices} devices, ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `${summary.accepted} accepted (${summary.partial} partial), ${summary.late} late, ` +
      `${summary.rejected} rejected, ${summary.dropped} dropped; bytes up ` +
      Object.entries(summary.bytesUp)
        .map(([codec, bytes]) => `${codec} ${bytes}`)
        .join(', '),
  )
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  console.error(`\n${usage}`)
  process.exit(1)
})
