import { gzipSync, strToU8, zipSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import type { DatasetSpec } from '../../protocol/datasets.ts'
import { readCsv } from './csv.ts'
import type { ReadLimits, ReadResult } from './types.ts'

const spec: DatasetSpec = {
  name: 'sensors',
  description: '',
  tags: [],
  features: {
    kind: 'tabular',
    columns: [
      { name: 'temp', scaling: { kind: 'standard', mean: 20, std: 5 } },
      { name: 'humidity', scaling: { kind: 'minmax', min: 0, max: 100 } },
      { name: 'count' },
    ],
  },
  classes: ['ok', 'warn', 'fail'],
  deviceLabelling: true,
}
const limits: ReadLimits = { maxExpandedBytes: 1 << 20, maxExamples: 100 }
const csv = (text: string, name = 'data.csv') =>
  readCsv({ name, bytes: strToU8(text) }, spec, limits)
const problems = (r: ReadResult) => (r.ok ? [] : r.problems)
const examples = (r: ReadResult) => {
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r
}

describe('readCsv', () => {
  it('reads declared columns by name in any order, scales them, and ignores extra columns', () => {
    const r = examples(csv('id,count,label,humidity,temp\n7,3,warn,50,25\n8,-1.5e1,ok,0,20\r\n'))
    expect(r.examples.count).toBe(2)
    expect(r.examples.shape).toEqual([3])
    expect(r.examples.features).toBeInstanceOf(Float32Array)
    expect([...r.examples.features]).toEqual([1, 0.5, 3, 0, 0, -15])
    expect([...r.examples.labels]).toEqual([1, 0])
    expect(r.notes).toEqual([
      '2 rows of 3 columns from data.csv',
      'ignored columns: "id"',
      'labels read as class names',
    ])
  })

  it('reads labels as class indices, quoted fields, a BOM, blank rows, and gzip', () => {
    const text = '\uFEFF"temp","humidity",count,label\n"20",100,1,2\n\n21,0,"0",0\n'
    for (const bytes of [strToU8(text), gzipSync(strToU8(text))]) {
      const r = examples(readCsv({ name: 'd.csv', bytes }, spec, limits))
      expect([...r.examples.labels]).toEqual([2, 0])
      expect([...r.examples.features]).toEqual([0, 1, 1, Math.fround(0.2), 0, 0])
      expect(r.notes).toContain('skipped 1 blank rows')
      expect(r.notes).toContain('labels read as class indices')
    }
  })

  it('prefers class names where labels read both ways, and says so', () => {
    const digits = { ...spec, classes: ['1', '2', '0'] }
    const r = examples(
      readCsv(
        { name: 'd.csv', bytes: strToU8('temp,humidity,count,label\n1,1,1,0\n1,1,1,1\n') },
        digits,
        limits,
      ),
    )
    expect([...r.examples.labels]).toEqual([2, 0])
    expect(r.notes.at(-1)).toMatch(/names win/)
  })

  it('refuses missing, non-numeric and non-finite values, naming row and column', () => {
    const r = csv(
      'temp,humidity,count,label\n' +
        '1,2,3,ok\n' +
        ',2,3,ok\n' + // row 3: temp missing
        '1,abc,3,ok\n' + // row 4
        '1,2,NaN,ok\n' + // row 5
        '1e999,2,Infinity,ok\n' + // row 6: two problems
        '0x10,2,3,\n', // row 7: hex is no number, label missing
    )
    expect(problems(r)).toEqual([
      { file: 'data.csv', row: 3, field: 'temp', message: 'missing value' },
      { file: 'data.csv', row: 4, field: 'humidity', message: '"abc" is not a number' },
      { file: 'data.csv', row: 5, field: 'count', message: '"NaN" is not a finite number' },
      {
        file: 'data.csv',
        row: 6,
        field: 'temp',
        message: '1e999 is not a finite number (too large)',
      },
      { file: 'data.csv', row: 6, field: 'count', message: '"Infinity" is not a finite number' },
      { file: 'data.csv', row: 7, field: 'temp', message: '"0x10" is not a number' },
      { file: 'data.csv', row: 7, field: 'label', message: 'missing value' },
    ])
  })

  it('refuses a value that scales past a 32-bit float', () => {
    expect(problems(csv('temp,humidity,count,label\n1,1,1e300,ok\n'))[0]).toMatchObject({
      row: 2,
      field: 'count',
      message: '1e300 scales to 1e+300, past a 32-bit float',
    })
  })

  it('refuses a wrong number of values, counting rows as a spreadsheet does', () => {
    const r = csv('temp,humidity,count,label\n"a\nb",1,1,ok\n1,2,3\n1,2,3,ok,extra\n')
    expect(problems(r)).toEqual([
      { file: 'data.csv', row: 2, field: 'temp', message: '"a\\nb" is not a number' },
      { file: 'data.csv', row: 3, message: '3 values; the header has 4 columns' },
      { file: 'data.csv', row: 4, message: '5 values; the header has 4 columns' },
    ])
  })

  it('refuses a header without a declared column or the label, or with a column twice', () => {
    expect(problems(csv('temp,count\n1,2\n'))).toEqual([
      {
        file: 'data.csv',
        row: 1,
        field: 'humidity',
        message: 'the header has no column "humidity"',
      },
      { file: 'data.csv', row: 1, field: 'label', message: 'the header has no column "label"' },
    ])
    expect(problems(csv('temp,humidity,count,label,temp\n'))[0]).toMatchObject({
      row: 1,
      field: 'temp',
      message: 'column "temp" appears twice in the header',
    })
    expect(problems(csv('temp;humidity;count;label\n1;2;3;ok\n'))[0]?.message).toMatch(
      /separated by ";"/,
    )
  })

  it('refuses labels outside the classes, by row', () => {
    const r = csv('temp,humidity,count,label\n1,1,1,ok\n1,1,1,broken\n1,1,1,3\n')
    expect(problems(r)).toEqual([
      {
        file: 'data.csv',
        row: 3,
        field: 'label',
        message: '"broken" is neither a class name (ok, warn, fail) nor a class index 0..2',
      },
      {
        file: 'data.csv',
        row: 4,
        field: 'label',
        message: '"3" is neither a class name (ok, warn, fail) nor a class index 0..2',
      },
    ])
  })

  it('refuses labels that mix names and indices', () => {
    const r = csv('temp,humidity,count,label\n1,1,1,ok\n1,1,1,2\n')
    expect(problems(r)).toEqual([
      {
        file: 'data.csv',
        row: 3,
        field: 'label',
        message:
          'labels mix class names (row 2) and class indices (this row): use one or the other',
      },
    ])
  })

  it('refuses broken quoting, an empty file, a header alone, and more rows than the limit', () => {
    expect(problems(csv('temp,humidity,count,label\n"1,1,1,ok\n'))).toEqual([
      { file: 'data.csv', row: 2, message: 'a quoted field is never closed' },
    ])
    expect(problems(csv(''))[0]).toMatchObject({ row: 1 })
    expect(problems(csv(''))[0]?.message).toMatch(/^empty/)
    expect(problems(csv('temp,humidity,count,label\n'))[0]?.message).toBe(
      'no data rows below the header',
    )
    const rows = 'temp,humidity,count,label\n' + '1,1,1,ok\n'.repeat(101)
    expect(problems(csv(rows))).toEqual([
      { file: 'data.csv', row: 102, message: 'more than the limit of 100 rows' },
    ])
  })

  it('refuses what is not UTF-8 CSV text: binary, a workbook, a gzip bomb', () => {
    const bytes = Uint8Array.of(0xff, 0xfe, 0x00, 0x41)
    expect(problems(readCsv({ name: 'x.csv', bytes }, spec, limits))[0]?.message).toMatch(
      /not UTF-8/,
    )
    const xlsx = zipSync({ 'xl/workbook.xml': strToU8('<workbook/>') })
    expect(problems(readCsv({ name: 'x.xlsx', bytes: xlsx }, spec, limits))[0]?.message).toMatch(
      /Excel/,
    )
    const bomb = gzipSync(new Uint8Array(8 << 20))
    expect(problems(readCsv({ name: 'b.csv.gz', bytes: bomb }, spec, limits))).toEqual([
      { file: 'b.csv.gz', message: 'gzip: expands beyond the limit of 1,048,576 bytes' },
    ])
  })

  it('refuses a dataset that declares a "label" feature, and an image dataset', () => {
    const clash: DatasetSpec = {
      ...spec,
      features: { kind: 'tabular', columns: [{ name: 'label' }] },
    }
    expect(
      problems(readCsv({ name: 'd.csv', bytes: strToU8('label\n1\n') }, clash, limits))[0],
    ).toMatchObject({ field: 'label' })
    const images: DatasetSpec = {
      ...spec,
      features: { kind: 'image', height: 2, width: 2, channels: 1 },
    }
    expect(
      problems(readCsv({ name: 'd.csv', bytes: strToU8('a\n1\n') }, images, limits))[0]?.message,
    ).toMatch(/holds images/)
  })

  it('stops at 20 problems and says so', () => {
    const r = csv('temp,humidity,count,label\n' + 'x,1,1,ok\n'.repeat(50))
    expect(problems(r)).toHaveLength(21)
    expect(problems(r).at(-1)?.message).toBe('stopped after 20 problems')
  })
})
