// Coordinator scale benchmark (issue 17): protocol-only devices against 1 and N replicas.
//
//   npm run bench:scale [-- --quick] [-- --devices 10000] [-- --select 1000] [-- --rounds 3]
//                       [-- --store both|pglite|postgres] [-- --replicas 1,3]
//                       [-- --concurrency 8,32,128] [-- --model tiny|mnist-2nn]
//                       [-- --database-cores 8] [-- --json FILE]
//
// Each configuration is real coordinator processes (server/main.ts) on the embedded store
// (PGlite, one replica) or on one fresh PostgreSQL database (`pollen_scale_<random>` on
// POLLEN_TEST_DATABASE_URL's server, dropped after); this process is the devices. A run enrols
// the population, then each round every device checks in once (the round selects `--select`, the
// rest are told to come back later), the selected download the model and upload a random delta
// of its shape, and the bench waits for the committed model. What it prints is measured, except
// the capacity table, which is computed from the measured CPU per call (see scale-stats.ts).
import { writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { callsTable, capacityTable, configName, processTable } from './scale-report.ts'
import { readOptions, type Options } from './scale-options.ts'
import { runConfiguration, type RunResult, type Store } from './scale-run.ts'

/** The configurations to run: PGlite is one process by design, so one replica only. */
function configurations(options: Options): { store: Store; replicas: number }[] {
  return options.stores.flatMap((store): { store: Store; replicas: number }[] =>
    store === 'pglite'
      ? [{ store, replicas: 1 }]
      : options.replicas.map((replicas) => ({ store, replicas })),
  )
}

async function main() {
  const options = readOptions(process.argv.slice(2))
  const progress = (line: string) => console.error(line)
  const runs: RunResult[] = []
  const failures: { configuration: string; error: string }[] = []
  const startedAt = performance.now()
  for (const { store, replicas } of configurations(options)) {
    const name = configName({ store, replicas })
    progress(
      `${name}: ${options.devices} devices, ${options.select} per round, ${options.rounds} rounds`,
    )
    try {
      runs.push(await runConfiguration({ ...options, store, replicas, progress }))
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      progress(`  FAILED: ${message}`)
      failures.push({ configuration: name, error: message })
    }
  }
  const minutes = (performance.now() - startedAt) / 60_000
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`
  const lines = [
    `bench:scale on ${machine}; requests in flight ${options.concurrency.join(', ')} (round k at the k-th); ${minutes.toFixed(1)} min`,
    '',
    'Measured, per kind of call:',
    '',
    callsTable(runs),
    '',
    'Measured, per configuration:',
    '',
    processTable(runs),
  ]
  // From each PostgreSQL configuration's own costs: with several replicas they include what the
  // cluster itself costs (ownership, heartbeats, partials), which is what more machines pay.
  for (const run of runs.filter((r) => r.store === 'postgres'))
    lines.push(
      '',
      `Computed (not measured) from ${configName(run)}'s CPU per call, for a PostgreSQL ` +
        `server of ${options.databaseCores} cores:`,
      '',
      capacityTable(run, options.databaseCores, [1, 2, 3, 5, 10, 20]),
    )
  for (const f of failures) lines.push('', `FAILED: ${f.configuration}: ${f.error}`)
  console.log(lines.join('\n'))
  if (options.json)
    await writeFile(
      options.json,
      JSON.stringify({ machine, options, runs, failures }, null, 2) + '\n',
    )
  if (failures.length > 0) process.exitCode = 1
}

await main()
