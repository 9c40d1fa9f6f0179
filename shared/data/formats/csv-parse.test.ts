import { describe, expect, it } from 'vitest'
import { CsvSyntaxError, csvRecords } from './csv-parse.ts'

const parse = (text: string) => [...csvRecords(text)].map((r) => [r.row, r.fields])

describe('csvRecords (RFC 4180)', () => {
  it('splits fields and records, CRLF or LF, with or without a last line break', () => {
    expect(parse('a,b\r\n1,2\n3,4')).toEqual([
      [1, ['a', 'b']],
      [2, ['1', '2']],
      [3, ['3', '4']],
    ])
    expect(parse('a,b\n1,2\n')).toEqual([
      [1, ['a', 'b']],
      [2, ['1', '2']],
    ])
  })

  it('keeps empty fields and blank lines', () => {
    expect(parse('a,,\n\nx')).toEqual([
      [1, ['a', '', '']],
      [2, ['']],
      [3, ['x']],
    ])
  })

  it('reads quoted fields with commas, line breaks and doubled quotes; a record is one row', () => {
    expect(parse('"a,1","say ""hi""\nthere"\r\nnext,""')).toEqual([
      [1, ['a,1', 'say "hi"\nthere']],
      [2, ['next', '']],
    ])
  })

  it('drops a byte-order mark', () => {
    expect(parse('\uFEFFa,b')).toEqual([[1, ['a', 'b']]])
  })

  it('a lone CR is data, not a line break', () => {
    expect(parse('a\rb,c')).toEqual([[1, ['a\rb', 'c']]])
  })

  it('refuses a quote never closed and text after a closing quote, naming the row', () => {
    const error = (text: string) => {
      try {
        parse(text)
      } catch (e) {
        return e
      }
      throw new Error('no error')
    }
    const unclosed = error('a\n1\n"open,2\n3')
    expect(unclosed).toBeInstanceOf(CsvSyntaxError)
    expect(unclosed).toMatchObject({ row: 3, message: 'a quoted field is never closed' })
    expect(error('a\n"x"y,1')).toMatchObject({
      row: 2,
      message: 'unexpected "y" after a quoted field',
    })
  })
})
