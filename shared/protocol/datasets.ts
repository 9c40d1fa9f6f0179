/**
 * What the devices declare of one dataset (GET /api/v1/datasets): counts, never examples.
 * `active` devices were seen within the coordinator's activity window (docs/PROTOCOL.md);
 * `examples` and `labels` (examples per label, index = label) count the active ones only.
 */
export interface DatasetSummary {
  name: string
  devices: { active: number; enrolled: number }
  examples: number
  labels: number[]
}
