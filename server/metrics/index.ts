/**
 * Prometheus text exposition for a handful of counters and gauges; no dependency needed for
 * this little.
 */
type Labels = Record<string, string>

interface Family {
  help: string
  type: 'counter' | 'gauge'
  values: Map<string, { labels: Labels; value: number }>
}

export interface Metrics {
  inc(name: string, labels?: Labels, by?: number): void
  set(name: string, labels: Labels, value: number): void
  /** Gauges read when scraped. */
  collectWith(collect: (metrics: Metrics) => void | Promise<void>): void
  render(): Promise<string>
}

export const METRIC_HELP = {
  pollen_checkins_total: ['counter', 'Device check-ins, by answer'],
  pollen_uploads_total: ['counter', 'Update uploads, by outcome'],
  pollen_upload_bytes_total: ['counter', 'Bytes of accepted updates'],
  pollen_rounds_total: ['counter', 'Rounds closed, by status'],
  pollen_devices_enrolled_total: ['counter', 'Devices enrolled since this process started'],
  pollen_devices: [
    'gauge',
    'Devices in the store: enrolled, and active (seen in the last 10 minutes)',
  ],
  pollen_tasks: ['gauge', 'Tasks, by status'],
  pollen_round_selected: ['gauge', 'Devices selected in the open round, by task'],
  pollen_round_reported: ['gauge', 'Updates accepted in the open round, by task'],
  process_resident_memory_bytes: ['gauge', 'Resident set size of the coordinator process'],
  pollen_device_requests_in_flight: ['gauge', 'Device requests being answered now (load shedding)'],
  pollen_uploads_in_flight: ['gauge', 'Update uploads being read now'],
} as const satisfies Record<string, readonly ['counter' | 'gauge', string]>

export type MetricName = keyof typeof METRIC_HELP

const key = (labels: Labels) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
    )
    .join(',')

export function createMetrics(): Metrics {
  const families = new Map<string, Family>()
  const collectors: ((metrics: Metrics) => void | Promise<void>)[] = []
  const family = (name: string) => {
    let f = families.get(name)
    if (!f) {
      const [type, help] = METRIC_HELP[name as MetricName] ?? ['gauge', name]
      f = { type, help, values: new Map() }
      families.set(name, f)
    }
    return f
  }
  const metrics: Metrics = {
    inc(name, labels = {}, by = 1) {
      const values = family(name).values
      const k = key(labels)
      const entry = values.get(k) ?? { labels, value: 0 }
      entry.value += by
      values.set(k, entry)
    },
    set(name, labels, value) {
      family(name).values.set(key(labels), { labels, value })
    },
    collectWith(collect) {
      collectors.push(collect)
    },
    async render() {
      for (const name of families.keys())
        if (families.get(name)?.type === 'gauge') families.get(name)?.values.clear()
      for (const collect of collectors) await collect(metrics)
      const lines: string[] = []
      for (const [name, f] of families) {
        lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`)
        for (const { labels, value } of f.values.values()) {
          const k = key(labels)
          lines.push(`${name}${k ? `{${k}}` : ''} ${value}`)
        }
      }
      return lines.join('\n') + '\n'
    },
  }
  return metrics
}
