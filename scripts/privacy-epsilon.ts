// What ε a DP-FedAvg task spends: rounds of the sampled Gaussian mechanism through the RDP
// accountant (shared/privacy), at the task's sampling rate q (devices per round / population),
// noise multiplier σ and δ.
//
//   npm run privacy:epsilon -- --q Q --sigma S --steps N --delta D [--json]
//
// Prints ε, the best RDP order and the inputs on one line (or one JSON object); a bad or missing
// argument is named on stderr, exit 2.
import { epsilonCli } from './privacy-epsilon-cli.ts'

const { code, stdout, stderr } = epsilonCli(process.argv.slice(2))
process.stdout.write(stdout)
process.stderr.write(stderr)
process.exitCode = code
