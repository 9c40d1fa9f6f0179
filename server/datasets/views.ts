import type { DatasetListing, DatasetSummary, DatasetView } from '../../shared/protocol/index.ts'
import type { DatasetRecord } from '../store/index.ts'

const iso = (ms: number) => new Date(ms).toISOString()

/** A declared dataset with the devices' counts (clipped to its classes) and its held-out set. */
export function datasetView(
  record: DatasetRecord,
  summary: DatasetSummary | undefined,
  tasks: number,
): DatasetView {
  const classes = record.spec.classes.length
  const labels = Array.from({ length: classes }, (_, k) => summary?.labels[k] ?? 0)
  return {
    ...record.spec,
    devices: summary ? { ...summary.devices } : { active: 0, enrolled: 0 },
    examples: summary?.examples ?? 0,
    labels,
    heldOut: record.heldOut && {
      examples: record.heldOut.examples,
      labels: [...record.heldOut.labels],
      hash: record.heldOut.hash,
      uploadedAt: iso(record.heldOut.uploadedAt),
    },
    tasks,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
  }
}

/** Whether `q` (already lower-cased) is in the name, description or a tag. */
const matches = (q: string, texts: readonly string[]) =>
  q === '' || texts.some((t) => t.toLowerCase().includes(q))

/**
 * Every declared dataset, then the names devices declare that no one declared, each kept when
 * `q` occurs in its name, description or tags (case-insensitive).
 */
export function datasetListing(
  records: readonly DatasetRecord[],
  summaries: readonly DatasetSummary[],
  tasksOf: (name: string) => number,
  query = '',
): DatasetListing[] {
  const q = query.trim().toLowerCase()
  const byName = new Map(summaries.map((s) => [s.name, s]))
  const declared = records
    .filter((r) => matches(q, [r.name, r.spec.description, ...r.spec.tags]))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((r) => ({
      ...datasetView(r, byName.get(r.name), tasksOf(r.name)),
      declared: true as const,
    }))
  const names = new Set(records.map((r) => r.name))
  const undeclared = summaries
    .filter((s) => !names.has(s.name) && matches(q, [s.name]))
    .map((s) => ({ ...s, declared: false as const }))
  return [...declared, ...undeclared]
}
