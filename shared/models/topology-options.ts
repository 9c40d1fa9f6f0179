// One layer's config, read key by key against what Pollen supports; what no rule read is refused.
import type { GraphNode } from './topology-graph.ts'
import { SUPPORTED_ACTIVATIONS, SUPPORTED_INITIALIZERS } from './topology-limits.ts'
import { fail, isDim, isInt, isObject, short } from './topology-util.ts'

/** A shape without its batch dimension. */
export type Shape = number[]

/** A layer's config, read key by key; `done()` refuses whatever key no rule read. */
export class Options {
  private readonly config: Record<string, unknown>
  private readonly at: string

  constructor(node: GraphNode) {
    this.config = node.config
    this.at = `layer '${node.name}' (${node.className})`
    this.take('name')
    this.bool('trainable', true)
    this.optional('dtype', (v) => v === 'float32', "'float32' (Pollen trains float32 weights)")
  }

  fail(why: string): never {
    return fail(`${this.at}: ${why}`)
  }

  done(): void {
    const left = Object.keys(this.config)
    if (left.length > 0)
      this.fail(
        `unknown option${left.length > 1 ? 's' : ''} ${left
          .slice(0, 5)
          .map((k) => `'${k}'`)
          .join(', ')}${left.length > 5 ? ', …' : ''}`,
      )
  }

  private take(key: string): unknown {
    const value = this.config[key]
    delete this.config[key]
    return value
  }

  required(key: string): unknown {
    const value = this.take(key)
    if (value === undefined || value === null) this.fail(`'${key}' is required`)
    return value
  }

  /** An optional key: absent or null, or a value `ok` accepts. */
  optional(key: string, ok: (v: unknown) => boolean, expected: string): unknown {
    const value = this.take(key)
    if (value === undefined || value === null) return undefined
    if (!ok(value)) this.fail(`${key} must be ${expected}, got ${short(value)}`)
    return value
  }

  /** Keys Pollen does not train with: regularisers, constraints, a noise shape. */
  none(...keys: string[]): void {
    for (const key of keys) {
      const value = this.take(key)
      if (value !== undefined && value !== null)
        this.fail(`${key} must be null (Pollen supports none), got ${short(value)}`)
    }
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.optional(key, (v) => typeof v === 'boolean', 'true or false')
    return value === undefined ? fallback : (value as boolean)
  }

  int(key: string, min: number): number {
    const value = this.required(key)
    if (!isDim(value) || value < min)
      this.fail(`${key} must be an integer of at least ${min}, got ${short(value)}`)
    return value
  }

  /** `[a, b]` or one integer for both, as Keras writes kernel sizes, strides and pool sizes. */
  pair(key: string, fallback?: number, fallback2 = fallback): [number, number] {
    const value = this.take(key)
    if ((value === undefined || value === null) && fallback !== undefined)
      return [fallback, fallback2!]
    const pair = isDim(value) ? [value, value] : value
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((d) => isDim(d) && d >= 1))
      this.fail(`${key} must be a positive integer or two, got ${short(value)}`)
    if (key === 'dilation_rate' && (pair[0] !== 1 || pair[1] !== 1))
      this.fail(`dilation_rate must be 1 (Pollen's kernels do not dilate), got ${short(value)}`)
    return [pair[0] as number, pair[1] as number]
  }

  padding(): 'valid' | 'same' {
    const value = this.optional(
      'padding',
      (v) => v === 'valid' || v === 'same',
      "'valid' or 'same'",
    )
    return (value as 'valid' | 'same' | undefined) ?? 'valid'
  }

  channelsLast(): void {
    this.optional(
      'data_format',
      (v) => v === 'channels_last',
      "'channels_last' (Pollen's images are height × width × channels)",
    )
  }

  activation(): string | undefined {
    return this.optional(
      'activation',
      (v) => (SUPPORTED_ACTIVATIONS as readonly unknown[]).includes(v),
      `one of ${SUPPORTED_ACTIVATIONS.join(', ')}`,
    ) as string | undefined
  }

  seed(key = 'seed'): void {
    this.optional(key, (v) => isInt(v) && v >= 0 && v <= 0xffffffff, 'null or an integer seed')
  }

  batchShape(key: string): Shape {
    const value = this.required(key)
    if (
      !Array.isArray(value) ||
      value.length < 2 ||
      value.length > 4 ||
      value[0] !== null ||
      !value.slice(1).every((d) => isDim(d) && d >= 1)
    )
      this.fail(
        `${key} must be [null, ...1 to 3 positive integers] (the batch dimension left open), got ${short(value)}`,
      )
    return value.slice(1) as number[]
  }

  /** An initialiser as Keras writes it: `{ class_name, config }`, of a supported class. */
  initializer(key: string): void {
    const value = this.take(key)
    if (value === undefined || value === null) return
    const where = `${key}`
    if (!isObject(value) || typeof value['class_name'] !== 'string')
      this.fail(`${where} must be { class_name, config }, got ${short(value)}`)
    const className = value['class_name']
    if (className === 'Orthogonal')
      this.fail(
        `${where}: the Orthogonal initializer is not supported: TF.js computes it by a QR decomposition that blocks for seconds on kernels of a few hundred columns, then fails in Pollen's TF.js build; use GlorotUniform, HeNormal or another of ${SUPPORTED_INITIALIZERS.join(', ')}`,
      )
    if (!(SUPPORTED_INITIALIZERS as readonly string[]).includes(className))
      this.fail(
        `${where}: initializer '${className}' is not supported (one of ${SUPPORTED_INITIALIZERS.join(', ')})`,
      )
    for (const k of Object.keys(value))
      if (k !== 'class_name' && k !== 'config') this.fail(`${where}: unknown key '${k}'`)
    const config = value['config']
    if (!isObject(config)) this.fail(`${where}.config must be an object, got ${short(config)}`)
    const seen = new Set(Object.keys(config))
    const read = (k: string, ok: (v: unknown) => boolean, expected: string) => {
      seen.delete(k)
      const v = config[k]
      if (v !== undefined && v !== null && !ok(v))
        this.fail(`${where}.config.${k} must be ${expected}, got ${short(v)}`)
    }
    const moderate = (v: unknown) => typeof v === 'number' && Math.abs(v) <= 1e6
    const seed = (v: unknown) => isInt(v) && v >= 0 && v <= 0xffffffff
    switch (className) {
      case 'Zeros':
      case 'Ones':
        break
      case 'Constant':
        read('value', moderate, 'a number within ±1e6')
        if (typeof config['value'] !== 'number') this.fail(`${where}.config.value is required`)
        break
      case 'RandomUniform':
        read('minval', moderate, 'a number within ±1e6')
        read('maxval', moderate, 'a number within ±1e6')
        read('seed', seed, 'null or an integer seed')
        break
      case 'RandomNormal':
      case 'TruncatedNormal':
        read('mean', moderate, 'a number within ±1e6')
        read('stddev', (v) => moderate(v) && (v as number) >= 0, 'a number from 0 to 1e6')
        read('seed', seed, 'null or an integer seed')
        break
      case 'VarianceScaling':
        read('scale', (v) => moderate(v) && (v as number) >= 0, 'a number from 0 to 1e6')
        read(
          'mode',
          (v) => ['fan_in', 'fan_out', 'fan_avg'].includes(v as string),
          "'fan_in', 'fan_out' or 'fan_avg'",
        )
        read('distribution', (v) => v === 'normal' || v === 'uniform', "'normal' or 'uniform'")
        read('seed', seed, 'null or an integer seed')
        break
      default: // Glorot, He and LeCun: a seed only
        read('seed', seed, 'null or an integer seed')
    }
    if (seen.size > 0) this.fail(`${where}.config: unknown key '${[...seen][0]!}'`)
  }

  one(inputs: Shape[], { minRank }: { minRank: number }): Shape {
    if (inputs.length !== 1) this.fail(`takes one input, got ${inputs.length}`)
    const input = inputs[0]!
    if (input.length < minRank)
      this.fail(
        `needs an input of at least ${minRank + 1} dimensions (batch included), got [batch, ${input.join(', ')}]`,
      )
    return input
  }

  image(inputs: Shape[]): [number, number, number] {
    const input = this.one(inputs, { minRank: 3 })
    if (input.length !== 3)
      this.fail(`needs a [batch, height, width, channels] input, got [batch, ${input.join(', ')}]`)
    return input as [number, number, number]
  }

  merged(inputs: Shape[]): [Shape, ...Shape[]] {
    if (inputs.length < 2) this.fail(`merges at least 2 inputs, got ${inputs.length}`)
    return inputs as [Shape, ...Shape[]]
  }

  /** An output length along one spatial axis (TF.js's convOutputLength, without dilation). */
  slide(length: number, window: number, stride: number, padding: 'valid' | 'same', what: string) {
    if (padding === 'same') return Math.ceil(length / stride)
    if (window > length)
      this.fail(`its ${what} (${window}) is larger than its input (${length}) with 'valid' padding`)
    return Math.floor((length - window) / stride) + 1
  }
}
