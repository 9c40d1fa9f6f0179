import { describe, expect, it } from 'vitest'
import { createMetrics } from './index.ts'

describe('metrics', () => {
  it('renders Prometheus text with escaped labels', async () => {
    const metrics = createMetrics()
    metrics.inc('pollen_uploads_total', { outcome: 'accepted' })
    metrics.inc('pollen_uploads_total', { outcome: 'accepted' }, 2)
    metrics.collectWith((m) => m.set('pollen_tasks', { status: 'run"ning' }, 4))
    const text = await metrics.render()
    expect(text).toContain('# TYPE pollen_uploads_total counter')
    expect(text).toContain('pollen_uploads_total{outcome="accepted"} 3')
    expect(text).toContain('pollen_tasks{status="run\\"ning"} 4')
  })
})
