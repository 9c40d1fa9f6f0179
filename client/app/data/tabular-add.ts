// "Import a CSV" for a tabular dataset: the file is read by the same reader the coordinator
// uses for a held-out set (shared/data/formats), so its columns are checked against the
// dataset's (a missing column, a bad row are named) and each value is scaled as the dataset
// declares. Either every row is stored, or none and the problems are listed.
import { readCsv } from '../../../shared/data/formats/csv.ts'
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'
import { h } from '../../ui/dom.ts'
import type { PollenDatabase } from '../storage/index.ts'
import { errorText, liveMessage, plural, speaker } from './say.ts'
import { storeExamples } from './store.ts'

/** A CSV a phone imports at most: rows of a form's answers or a sensor's readings, not a dump. */
export const MAX_CSV_BYTES = 20 * 1024 * 1024
/** Rows stored from one CSV at most. */
export const MAX_CSV_ROWS = 100_000

export interface TabularAddOptions {
  db: PollenDatabase
  document: Document
  spec: DatasetSpec
  onStored: () => Promise<void>
}

export function tabularAddForm({
  db,
  document,
  spec,
  onStored,
}: TabularAddOptions): HTMLFormElement {
  const columns = spec.features.kind === 'tabular' ? spec.features.columns.map((c) => c.name) : []
  const file = h(document, 'input', null)
  file.type = 'file'
  file.accept = '.csv,text/csv'
  const button = h(document, 'button', 'primary', 'Import')
  button.type = 'submit'
  const message = liveMessage(document, 'div')
  const say = speaker(message)
  const form = h(
    document,
    'form',
    'add-csv',
    h(document, 'h3', null, 'Import a CSV'),
    h(
      document,
      'p',
      'hint',
      `A header row, then one row per example: the columns ${columns.map((c) => `“${c}”`).join(', ')} ` +
        `(numbers) and “label”, one of ${spec.classes.map((c) => `“${c}”`).join(', ')}. ` +
        'Other columns are ignored.',
    ),
    h(document, 'label', 'field', 'CSV file', file),
    button,
    message,
  )

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const chosen = file.files?.[0]
    if (!chosen) {
      say('error', 'Choose a CSV file first.')
      file.focus()
      return
    }
    if (chosen.size > MAX_CSV_BYTES) {
      say(
        'error',
        `${chosen.name} is over the limit of ${MAX_CSV_BYTES / 1024 / 1024} MB for a CSV.`,
      )
      return
    }
    button.disabled = true
    say('info', `Reading ${chosen.name}…`)
    importCsv(chosen)
      .catch((error: unknown) =>
        say('error', `${chosen.name} could not be imported: ${errorText(error)}`),
      )
      .finally(() => {
        button.disabled = false
      })
  })

  async function importCsv(chosen: File): Promise<void> {
    const bytes = new Uint8Array(await chosen.arrayBuffer())
    const result = readCsv({ name: chosen.name, bytes }, spec, {
      maxExpandedBytes: MAX_CSV_BYTES,
      maxExamples: MAX_CSV_ROWS,
    })
    if (!result.ok) {
      say(
        'error',
        h(document, 'p', null, `Stored nothing from ${chosen.name}:`),
        h(
          document,
          'ul',
          'tabular-problems',
          ...result.problems.map((p) =>
            h(
              document,
              'li',
              null,
              [p.row ? `row ${p.row}` : '', p.field ? `“${p.field}”` : '']
                .filter(Boolean)
                .join(', ') +
                (p.row || p.field ? ': ' : '') +
                p.message,
            ),
          ),
        ),
      )
      return
    }
    const { examples } = result
    const count = await storeExamples(db, spec, {
      features: examples.features,
      labels: examples.labels,
      source: 'imported',
    })
    file.value = ''
    say('ok', `Stored ${plural(count, 'row')} of ${chosen.name}.`)
    await onStored()
  }

  return form
}
