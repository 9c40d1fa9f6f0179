import { parseArgs } from 'node:util'
import { useBackend } from '../../shared/tf/index.ts'
import { loadMnist } from '../../data/mnist-file.ts'
import { localTrainer } from '../device/index.ts'
import { simulate } from './simulate.ts'

const usage = `npm run sim -- --server URL --clients N --partition iid|noniid [--slow FRACTION] [--drop FRACTION] [--seed N]`

function fraction(name: string, value: string | undefined): number {
  const n = Number(value ?? 0)
  if (!(n >= 0 && n <= 1))
    throw new Error(`--${name} must be a fraction between 0 and 1, got ${value}`)
  return n
}

async function main() {
  const { values } = parseArgs({
    options: {
      server: { type: 'string', default: `http://localhost:${process.env.PORT ?? 8080}` },
      clients: { type: 'string', default: '10' },
      partition: { type: 'string', default: 'iid' },
      slow: { type: 'string' },
      drop: { type: 'string' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) return console.log(usage)
  const clients = Number(values.clients)
  if (!Number.isInteger(clients) || clients < 1 || clients > 1000)
    throw new Error(`--clients must be a whole number from 1 to 1000, got ${values.clients}`)
  if (values.partition !== 'iid' && values.partition !== 'noniid')
    throw new Error(`--partition must be iid or noniid, got ${values.partition}`)
  await useBackend('wasm')
  const { train } = await loadMnist()
  const started = Date.now()
  const summary = await simulate({
    server: values.server,
    clients,
    partition: values.partition,
    examples: train,
    trainer: localTrainer(),
    slow: fraction('slow', values.slow),
    drop: fraction('drop', values.drop),
    seed: Number(values.seed),
    onEvent: (i, event) => {
      if (event.type === 'uploaded')
        console.log(
          `device ${i}: task ${event.taskId.slice(0, 8)} round ${event.round}: ${event.answer.type}`,
        )
      else if (event.type === 'dropped')
        console.log(`device ${i}: round ${event.round}: dropped (simulated)`)
      else if (event.type === 'done') console.log(`device ${i}: done (${event.reason})`)
    },
  })
  console.log(
    `${summary.devices} devices, ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `${summary.accepted} accepted (${summary.partial} partial), ${summary.late} late, ` +
      `${summary.rejected} rejected, ${summary.dropped} dropped`,
  )
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  console.error(usage)
  process.exit(1)
})
