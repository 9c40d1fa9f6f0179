// A replica that only holds ownership, for the kill -9 test: prints `owns <task> <epoch>`.
import { startOwnership } from './ownership.ts'

const [url, replicaId, pollMs] = process.argv.slice(2)
if (!url || !replicaId)
  throw new Error('usage: testing-owner.ts <database url> <replica id> [pollMs]')
await startOwnership({
  connection: url,
  replicaId,
  pollMs: Number(pollMs ?? 100),
  onAcquire: (taskId, epoch) => console.log(`owns ${taskId} ${epoch}`),
  onLose: (taskId) => console.log(`lost ${taskId}`),
})
// Held until killed.
setInterval(() => {}, 60_000)
