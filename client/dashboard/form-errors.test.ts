import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { placeIssues, type IssueControl } from './form-errors.ts'
import { NUMBER_FIELDS, PRIVACY_NUMBER_FIELDS } from './task-form.ts'

// The create form's controls as the page ships them: the server names fields, and showIssues
// finds each by `name`, its label by `for`. (No DOM in these tests: the markup is read as text.)
const html = readFileSync(new URL('./index.html', import.meta.url), 'utf8')
const start = html.indexOf('<form id="create-form"')
const createForm = html.slice(start, html.indexOf('</form>', start))
const attributes = (tag: string) =>
  Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]))
const controls = [...createForm.matchAll(/<(?:input|select|textarea)\b[^>]*>/g)].map((m) =>
  attributes(m[0]),
)
const labels = new Map(
  [...createForm.matchAll(/<label\b[^>]*\bfor="([^"]+)"[^>]*>([\s\S]*?)<\/label\s*>/g)].map((m) => [
    m[1]!,
    m[2]!.replace(/\s+/g, ' ').trim(),
  ]),
)
const controlNamed = (name: string): IssueControl | null => {
  const control = controls.find((c) => c.name === name)
  if (!control?.id) return null
  return {
    id: control.id,
    label: labels.get(control.id) ?? null,
    checkbox: control.type === 'checkbox',
  }
}

describe('placeIssues on the create form', () => {
  it("shows the coordinator's refusal of privacy.mode beside the noise mode", () => {
    const message = '"distributed" needs secureAggregation'
    const [placed] = placeIssues([{ field: 'privacy.mode', message }], controlNamed)
    expect(placed).toMatchObject({
      issue: { field: 'privacy.mode', message },
      control: { id: 'create-dp-mode', label: 'Noise added by', checkbox: false },
      noteId: 'create-dp-mode-error',
    })
  })

  it('shows a model that does not fit the dataset beside the model it chose', () => {
    const message = "model 'mnist-2nn' takes [784] and outputs 10 classes; dataset 'colours' …"
    const [placed] = placeIssues([{ field: 'model', message }], controlNamed)
    expect(placed).toMatchObject({
      control: { id: 'create-model', label: 'Model' },
      noteId: 'create-model-error',
      line: `Model: ${message}`,
    })
  })

  it("names fields by the form's labels, in plain words, never by their API names", () => {
    const formLabels = new Map(
      controls.flatMap((c) => {
        const label = c.id ? labels.get(c.id) : undefined
        return c.name && label ? [[c.name, label] as const] : []
      }),
    )
    const placed = placeIssues(
      [
        { field: 'rounds.minReports', message: 'must be at most clientsPerRound (3)' },
        { field: 'train.learningRate', message: 'Too small: expected number to be >0' },
        { field: 'rounds.total', message: 'Invalid input: expected int, received number' },
        { field: 'privacy.mode', message: '"distributed" needs secureAggregation' },
      ],
      controlNamed,
      formLabels,
    )
    expect(placed.map((p) => p.line)).toEqual([
      'Fewest reports to commit: must be at most devices per round (3)',
      'Learning rate: must be more than 0',
      'Rounds to commit: must be a whole number',
      'Noise added by: "distributed" needs secure aggregation (the coordinator sees only sums)',
    ])
    expect(placed.map((p) => p.message)[1]).toBe('must be more than 0')
  })

  it('has one labelled control for every field the coordinator may name', () => {
    const fields = [
      'name',
      'purpose',
      'dataset',
      'model.preset',
      'model.topology',
      'train.optimizer',
      ...NUMBER_FIELDS,
      'privacy',
      ...PRIVACY_NUMBER_FIELDS,
      'privacy.mode',
      'secureAggregation',
      'secureAggregation.threshold',
    ]
    for (const field of fields) {
      expect(
        controls.filter((c) => c.name === field),
        field,
      ).toHaveLength(1)
      expect(controlNamed(field)?.label, field).toBeTruthy()
    }
    expect(controlNamed('privacy')?.checkbox).toBe(true)
    expect(controlNamed('secureAggregation')?.label).toBe(
      'Secure aggregation (the coordinator sees only sums)',
    )
  })

  it('keeps a field with no control for the summary alone', () => {
    expect(
      placeIssues([{ field: 'aggregation.weighting', message: 'must be "uniform"' }], controlNamed),
    ).toEqual([
      {
        issue: { field: 'aggregation.weighting', message: 'must be "uniform"' },
        control: null,
        noteId: null,
        message: 'must be "uniform"',
        line: 'aggregation.weighting: must be "uniform"',
      },
    ])
  })
})
