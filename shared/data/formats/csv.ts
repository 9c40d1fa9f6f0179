import type { ColumnScaling, DatasetSpec, TabularFeatures } from '../../protocol/datasets.ts'
import { CsvSyntaxError, csvRecords } from './csv-parse.ts'
import { ByteBudget, gunzipLimited, isGzip } from './inflate.ts'
import { count, Problems, refuse } from './problems.ts'
import type { NamedFile, ReadLimits, ReadResult } from './types.ts'

/**
 * A CSV of tabular examples: a header naming the columns, which must include every column the
 * dataset declares and `label`; columns the dataset does not declare are ignored (an export's id
 * or timestamp does no harm, and features are taken by name) and the notes say which. Labels are
 * class names or class indices, one or the other for the whole file. Values are scaled as each
 * column declares, into a Float32Array.
 */
export const LABEL_COLUMN = 'label'

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/
const NON_FINITE = /^[+-]?(inf|infinity|nan)$/i
const INDEX = /^\d+$/

export function readCsv(
  file: NamedFile,
  spec: DatasetSpec,
  limits: ReadLimits,
  budget = new ByteBudget(limits.maxExpandedBytes),
): ReadResult {
  const name = file.name
  if (spec.features.kind !== 'tabular') {
    return refuse({ file: name, message: `dataset ${spec.name} holds images, not CSV rows` })
  }
  const text = decodeText(file, budget)
  if (typeof text !== 'string') return refuse({ file: name, message: text.problem })
  const problems = new Problems()
  const table = readTable(name, text, spec.features, limits, problems)
  if (!table || problems.any) return problems.result()
  const labels = resolveLabels(name, table, spec.classes, problems)
  if (!labels || problems.any) return problems.result()
  const n = table.labels.length
  if (n === 0) return refuse({ file: name, message: 'no data rows below the header' })
  const notes = [`${count(n)} rows of ${spec.features.columns.length} columns from ${name}`]
  if (table.ignored.length > 0) notes.push(`ignored columns: ${table.ignored.join(', ')}`)
  if (table.blank > 0) notes.push(`skipped ${count(table.blank)} blank rows`)
  notes.push(labels.note)
  return {
    ok: true,
    examples: {
      count: n,
      shape: [spec.features.columns.length],
      features: table.features.slice(0, n * spec.features.columns.length),
      labels: labels.values,
    },
    notes,
  }
}

function decodeText(file: NamedFile, budget: ByteBudget): string | { problem: string } {
  let bytes = file.bytes
  if (isGzip(bytes)) {
    const out = gunzipLimited(bytes, budget)
    if (!out.ok) return { problem: `gzip: ${out.message}` }
    bytes = out.bytes
  }
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    return { problem: 'a zip archive (an Excel workbook?), not CSV text: save it as CSV' }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return { problem: 'not UTF-8 text: save it as CSV (UTF-8)' }
  }
}

interface Table {
  /** Scaled values, row-major; longer than the rows read (it grows by doubling). */
  features: Float32Array
  /** Each row's label as written, and its row in the file. */
  labels: string[]
  rows: number[]
  ignored: string[]
  blank: number
}

/** The header and rows; problems are added, and null when the header itself is unusable. */
function readTable(
  file: string,
  text: string,
  features: TabularFeatures,
  limits: ReadLimits,
  problems: Problems,
): Table | null {
  const records = csvRecords(text)
  const columns = features.columns
  let table: Table | null = null
  let header: ReturnType<typeof readHeader> = null
  try {
    for (const { row, fields } of records) {
      if (!header) {
        header = readHeader(file, fields, features, problems)
        if (!header) return null
        table = {
          features: new Float32Array(columns.length * 64),
          labels: [],
          rows: [],
          ignored: header.ignored,
          blank: 0,
        }
        continue
      }
      if (fields.length === 1 && fields[0]!.trim() === '') {
        table!.blank += 1
        continue
      }
      if (table!.labels.length >= limits.maxExamples) {
        problems.add({
          file,
          row,
          message: `more than the limit of ${count(limits.maxExamples)} rows`,
        })
        return null
      }
      readRow(file, row, fields, header, columns, table!, problems)
      if (problems.full) return null
    }
  } catch (e) {
    if (!(e instanceof CsvSyntaxError)) throw e
    problems.add({ file, row: e.row, message: e.message })
    return null
  }
  if (!header)
    problems.add({
      file,
      row: 1,
      message: `empty: expected a header row naming the columns and ${LABEL_COLUMN}`,
    })
  return table
}

interface Header {
  width: number
  /** Where each declared column is in a row. */
  at: number[]
  label: number
  ignored: string[]
}

function readHeader(
  file: string,
  fields: string[],
  features: TabularFeatures,
  problems: Problems,
): Header | null {
  const names = fields.map((f) => f.trim())
  const where = new Map<string, number>()
  names.forEach((n, i) => {
    if (where.has(n))
      problems.add({
        file,
        row: 1,
        field: n,
        message: `column ${JSON.stringify(n)} appears twice in the header`,
      })
    where.set(n, i)
  })
  if (features.columns.some((c) => c.name === LABEL_COLUMN)) {
    problems.add({
      file,
      row: 1,
      field: LABEL_COLUMN,
      message: `the dataset declares a feature column named "${LABEL_COLUMN}", the name CSV files give the class`,
    })
  }
  const missing = [...features.columns.map((c) => c.name), LABEL_COLUMN].filter(
    (n) => !where.has(n),
  )
  for (const n of missing) {
    const hint =
      names.length === 1 && /[;\t]/.test(names[0]!)
        ? ' (is the file separated by ";" or tabs? use commas)'
        : ''
    problems.add({
      file,
      row: 1,
      field: n,
      message: `the header has no column ${JSON.stringify(n)}${hint}`,
    })
  }
  if (problems.any) return null
  const declared = new Set(features.columns.map((c) => c.name))
  return {
    width: names.length,
    at: features.columns.map((c) => where.get(c.name)!),
    label: where.get(LABEL_COLUMN)!,
    ignored: names
      .filter((n) => n !== LABEL_COLUMN && !declared.has(n))
      .map((n) => JSON.stringify(n)),
  }
}

function readRow(
  file: string,
  row: number,
  fields: string[],
  header: Header,
  columns: TabularFeatures['columns'],
  table: Table,
  problems: Problems,
): void {
  if (fields.length !== header.width) {
    problems.add({
      file,
      row,
      message: `${fields.length} values; the header has ${header.width} columns`,
    })
    return
  }
  const k = table.labels.length
  const width = columns.length
  if ((k + 1) * width > table.features.length) {
    const grown = new Float32Array(table.features.length * 2)
    grown.set(table.features)
    table.features = grown
  }
  let ok = true
  columns.forEach((column, j) => {
    const raw = fields[header.at[j]!]!.trim()
    const value = parseValue(raw, column.scaling)
    if (typeof value === 'string') {
      ok = false
      problems.add({ file, row, field: column.name, message: value })
    } else table.features[k * width + j] = value
  })
  const label = fields[header.label]!.trim()
  if (label === '') {
    ok = false
    problems.add({ file, row, field: LABEL_COLUMN, message: 'missing value' })
  }
  if (ok) {
    table.labels.push(label)
    table.rows.push(row)
  }
}

/** The scaled value, or what is wrong with it. */
function parseValue(raw: string, scaling: ColumnScaling | undefined): number | string {
  if (raw === '') return 'missing value'
  if (NON_FINITE.test(raw)) return `${JSON.stringify(raw)} is not a finite number`
  if (!NUMBER.test(raw)) return `${JSON.stringify(raw.slice(0, 40))} is not a number`
  const v = Number(raw)
  if (!Number.isFinite(v)) return `${raw.slice(0, 40)} is not a finite number (too large)`
  const scaled =
    scaling?.kind === 'standard'
      ? (v - scaling.mean) / scaling.std
      : scaling?.kind === 'minmax'
        ? (v - scaling.min) / (scaling.max - scaling.min)
        : v
  const f = Math.fround(scaled)
  if (!Number.isFinite(f)) return `${raw.slice(0, 40)} scales to ${scaled}, past a 32-bit float`
  return f
}

/**
 * Class names if every label is one, else class indices if every label is one; a value that is
 * neither is named by its row. Names win where both would read (a dataset whose classes are
 * '1' and '2'), and the note says the labels were read as names.
 */
function resolveLabels(
  file: string,
  { labels, rows }: Table,
  classes: string[],
  problems: Problems,
): { values: Uint8Array; note: string } | null {
  const byName = new Map(classes.map((c, i) => [c, i]))
  const asIndex = (s: string) => (INDEX.test(s) && Number(s) < classes.length ? Number(s) : -1)
  const values = new Uint8Array(labels.length)
  if (labels.every((l) => byName.has(l))) {
    labels.forEach((l, i) => (values[i] = byName.get(l)!))
    const both = labels.every((l) => asIndex(l) >= 0)
    return {
      values,
      note: `labels read as class names${both ? ' (they read as class indices too: names win)' : ''}`,
    }
  }
  if (labels.every((l) => asIndex(l) >= 0)) {
    labels.forEach((l, i) => (values[i] = asIndex(l)))
    return { values, note: 'labels read as class indices' }
  }
  const bad = labels.findIndex((l) => !byName.has(l) && asIndex(l) < 0)
  if (bad >= 0) {
    labels.forEach((l, i) => {
      if (!byName.has(l) && asIndex(l) < 0 && !problems.full) {
        problems.add({
          file,
          row: rows[i]!,
          field: LABEL_COLUMN,
          message: `${JSON.stringify(l.slice(0, 100))} is neither a class name (${listClasses(classes)}) nor a class index 0..${classes.length - 1}`,
        })
      }
    })
    return null
  }
  const name = labels.findIndex((l) => byName.has(l) && asIndex(l) < 0)
  const index = labels.findIndex((l) => !byName.has(l))
  problems.add({
    file,
    row: rows[index]!,
    field: LABEL_COLUMN,
    message: `labels mix class names (row ${rows[name]}) and class indices (this row): use one or the other`,
  })
  return null
}

const listClasses = (classes: string[]): string =>
  classes.length <= 8 ? classes.join(', ') : `${classes.slice(0, 8).join(', ')}, …`
