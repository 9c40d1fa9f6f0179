import { describe, expect, it } from 'vitest'
import { MNIST_DATASET, type DatasetListing } from '../../shared/protocol/index.ts'
import { matchesQuery, renderDatasets } from './datasets.ts'

const flowers: DatasetListing = {
  declared: true,
  name: 'flowers',
  description: 'Garden photos',
  tags: ['Images', 'plants'],
  features: { kind: 'image', height: 32, width: 32, channels: 3 },
  classes: ['rose', 'tulip', 'daisy'],
  deviceLabelling: true,
  devices: { active: 2, enrolled: 3 },
  examples: 12,
  labels: [5, 7, 0],
  heldOut: null,
  tasks: 1,
  createdAt: '2026-12-05T10:00:00.000Z',
  updatedAt: '2026-12-05T10:00:00.000Z',
}
const mnist: DatasetListing = {
  ...MNIST_DATASET,
  declared: true,
  devices: { active: 0, enrolled: 0 },
  examples: 0,
  labels: new Array<number>(10).fill(0),
  heldOut: {
    examples: 2000,
    labels: [],
    hash: 'a'.repeat(64),
    uploadedAt: '2026-12-05T10:30:00.000Z',
  },
  tasks: 0,
  createdAt: '2026-12-05T10:00:00.000Z',
  updatedAt: '2026-12-05T10:00:00.000Z',
}
const stray: DatasetListing = {
  declared: false,
  name: 'sensors',
  devices: { active: 1, enrolled: 1 },
  examples: 4,
  labels: [4],
}

describe('the Datasets view', () => {
  it('searches name, description and tags, case-insensitively; undeclared ones by name', () => {
    expect(matchesQuery(flowers, 'PLANT')).toBe(true)
    expect(matchesQuery(flowers, 'garden')).toBe(true)
    expect(matchesQuery(flowers, 'digits')).toBe(false)
    expect(matchesQuery(stray, 'sens')).toBe(true)
    expect(matchesQuery(stray, '')).toBe(true)
  })

  it('shows shape, classes by name, counts, held-out status and the histogram by class', () => {
    const list = document.createElement('ul')
    const summary = document.createElement('p')
    renderDatasets(document, list, summary, [flowers, mnist, stray])
    const [f, m, s] = [...list.children] as HTMLElement[]
    expect(f!.textContent).toContain('12 examples on 2 active devices (3 enrolled)')
    expect(f!.textContent).toContain('32×32 RGB images')
    expect(f!.textContent).toContain('3 classes: rose, tulip, daisy')
    expect(f!.textContent).toContain('No held-out set')
    expect(f!.textContent).toContain('Examples per class: rose: 5, tulip: 7, daisy: 0.')
    expect([...f!.querySelectorAll('.hlabel')].map((e) => e.textContent)).toEqual([
      'rose',
      'tulip',
      'daisy',
    ])
    expect(m!.textContent).toContain('Held-out set: 2,000 examples')
    expect(m!.querySelector('.histogram')).toBeNull() // no device holds any
    expect(s!.dataset.declared).toBe('false')
    expect(s!.textContent).toContain('Not declared')
    expect(summary.textContent).toMatch(/^2 declared, 1 held by devices undeclared\./)

    renderDatasets(document, list, summary, [flowers, mnist, stray], 'digits')
    expect([...list.children].map((e) => (e as HTMLElement).dataset.name)).toEqual(['mnist'])
    expect(summary.textContent).toContain('1 match "digits"')
  })
})
