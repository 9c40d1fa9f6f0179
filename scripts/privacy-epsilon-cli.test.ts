import { describe, expect, it } from 'vitest'
import { epsilonCli, formatEpsilon, parseEpsilonArgs, USAGE } from './privacy-epsilon-cli.ts'

const args = ['--q', '0.04', '--sigma', '1.5', '--steps', '2250', '--delta', '1e-5']

describe('privacy:epsilon', () => {
  it("prints ε, the best order and the inputs on one line (Opacus's test run: ε 7.329)", () => {
    expect(epsilonCli(args)).toEqual({
      code: 0,
      stdout:
        'ε = 7.329 at δ = 0.00001 (best RDP order 3.9) after 2250 rounds at q = 0.04, σ = 1.5\n',
      stderr: '',
    })
  })

  it('prints one JSON object with --json, ε null when there is no noise', () => {
    const { code, stdout } = epsilonCli(['--', ...args, '--json'])
    expect(code).toBe(0)
    const { epsilon, ...inputs } = JSON.parse(stdout) as Record<string, number>
    expect(inputs).toEqual({ q: 0.04, sigma: 1.5, steps: 2250, delta: 1e-5, order: 3.9 })
    expect(epsilon).toBeCloseTo(7.32911117143, 9)
    const noNoise = { q: 0.1, sigma: 0, steps: 1, delta: 1e-5, json: true }
    expect(JSON.parse(formatEpsilon(noNoise, { epsilon: Infinity, order: 1.1 }))).toMatchObject({
      epsilon: null,
    })
    expect(formatEpsilon({ ...noNoise, json: false }, { epsilon: Infinity, order: 1.1 })).toBe(
      'ε = ∞ at δ = 0.00001 (no noise: no privacy) after 1 round at q = 0.1, σ = 0\n',
    )
  })

  it('parses the flags, with = or a space', () => {
    expect(parseEpsilonArgs(['--q=0.01', '--sigma=1.1', '--steps=0', '--delta', '1e-6'])).toEqual({
      q: 0.01,
      sigma: 1.1,
      steps: 0,
      delta: 1e-6,
      json: false,
    })
    expect(parseEpsilonArgs(['--help'])).toBeNull()
    expect(epsilonCli(['-h'])).toEqual({ code: 0, stdout: USAGE, stderr: '' })
  })

  it('names a bad or missing argument and exits 2', () => {
    const without = (flag: string) => {
      const at = args.indexOf(flag)
      return [...args.slice(0, at), ...args.slice(at + 2)]
    }
    const replace = (flag: string, value: string) =>
      args.map((a, k) => (args[k - 1] === flag ? value : a))
    const cases: [string[], RegExp][] = [
      [without('--q'), /--q is missing/],
      [without('--sigma'), /--sigma is missing/],
      [without('--steps'), /--steps is missing/],
      [without('--delta'), /--delta is missing/],
      [replace('--q', '1.5'), /--q must be a sampling rate in \[0, 1\], got "1.5"/],
      [replace('--q', 'abc'), /--q must be .* got "abc"/],
      [replace('--sigma', 'Infinity'), /--sigma must be a finite noise multiplier/],
      [replace('--steps', '2.5'), /--steps must be a whole number/],
      [replace('--delta', '0'), /--delta must be in \(0, 1\), got "0"/],
      [['--q='], /--q must be .* got ""/],
      [[...args, '--epochs', '3'], /Unknown option '--epochs'/],
      [[...args, 'extra'], /Unexpected argument 'extra'/],
    ]
    for (const [argv, message] of cases) {
      const result = epsilonCli(argv)
      expect(result.code, argv.join(' ')).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr).toMatch(message)
      expect(result.stderr).toMatch(/^privacy:epsilon: /)
      expect(result.stderr.endsWith(USAGE)).toBe(true)
    }
  })
})
