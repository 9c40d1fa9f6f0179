// The privacy:epsilon command without the process: arguments in, exit code and text out, so tests
// run it as a function. scripts/privacy-epsilon.ts is the entry that writes and exits.
import { parseArgs } from 'node:util'
import { computeEpsilon, type PrivacySpent } from '../shared/privacy/index.ts'

export const USAGE =
  'usage: npm run privacy:epsilon -- --q Q --sigma S --steps N --delta D [--json]\n' +
  '  q: share of the population sampled each round, in [0, 1]; sigma: noise multiplier ≥ 0;\n' +
  '  steps: rounds, a whole number ≥ 0; delta: in (0, 1). Orders: Opacus defaults.\n'

export interface EpsilonArgs {
  q: number
  sigma: number
  steps: number
  delta: number
  json: boolean
}

/** A bad or missing argument; the message says which. */
export class UsageError extends Error {
  override name = 'UsageError'
}

function number(flag: string, raw: string | undefined, rule: string, ok: (v: number) => boolean) {
  if (raw === undefined) throw new UsageError(`--${flag} is missing: it must be ${rule}`)
  const value = raw.trim() === '' ? NaN : Number(raw)
  if (!ok(value)) throw new UsageError(`--${flag} must be ${rule}, got ${JSON.stringify(raw)}`)
  return value
}

/** Reads the flags, or throws a UsageError naming the first bad one. `null` asks for help. */
export function parseEpsilonArgs(argv: readonly string[]): EpsilonArgs | null {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv.filter((arg) => arg !== '--'),
      options: {
        q: { type: 'string' },
        sigma: { type: 'string' },
        steps: { type: 'string' },
        delta: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }))
  } catch (error) {
    // node:util's own messages: "Unknown option '--x'", "Option '--q <value>' argument missing".
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  if (values.help) return null
  return {
    q: number('q', values.q, 'a sampling rate in [0, 1]', (v) => v >= 0 && v <= 1),
    sigma: number('sigma', values.sigma, 'a finite noise multiplier ≥ 0', (v) => {
      return v >= 0 && Number.isFinite(v)
    }),
    steps: number('steps', values.steps, 'a whole number of rounds ≥ 0', (v) => {
      return Number.isSafeInteger(v) && v >= 0
    }),
    delta: number('delta', values.delta, 'in (0, 1)', (v) => v > 0 && v < 1),
    json: values.json,
  }
}

/** One human line, or one JSON object (ε null when infinite: JSON has no ∞). */
export function formatEpsilon(args: EpsilonArgs, spent: PrivacySpent): string {
  const { q, sigma, steps, delta } = args
  if (args.json)
    return `${JSON.stringify({ q, sigma, steps, delta, epsilon: spent.epsilon, order: spent.order })}\n`
  const inputs = `after ${steps} round${steps === 1 ? '' : 's'} at q = ${q}, σ = ${sigma}`
  if (spent.epsilon === Infinity) return `ε = ∞ at δ = ${delta} (no noise: no privacy) ${inputs}\n`
  const epsilon = Number(spent.epsilon.toPrecision(4))
  return `ε = ${epsilon} at δ = ${delta} (best RDP order ${spent.order}) ${inputs}\n`
}

export interface CliResult {
  /** 0, or 2 for a bad or missing argument. */
  code: 0 | 2
  stdout: string
  stderr: string
}

export function epsilonCli(argv: readonly string[]): CliResult {
  let args
  try {
    args = parseEpsilonArgs(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    return { code: 2, stdout: '', stderr: `privacy:epsilon: ${error.message}\n${USAGE}` }
  }
  if (args === null) return { code: 0, stdout: USAGE, stderr: '' }
  return { code: 0, stdout: formatEpsilon(args, computeEpsilon(args)), stderr: '' }
}
