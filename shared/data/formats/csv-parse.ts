/**
 * RFC 4180 records: fields split by commas, records by CRLF or LF, a field in double quotes may
 * hold commas, line breaks and doubled quotes (""). A record's row is its ordinal, 1-based, as a
 * spreadsheet numbers it (the header is row 1), however many lines its quoted fields span.
 */
export interface CsvRecord {
  row: number
  fields: string[]
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly row: number,
    message: string,
  ) {
    super(message)
    this.name = 'CsvSyntaxError'
  }
}

const QUOTE = 0x22
const COMMA = 0x2c
const LF = 0x0a
const CR = 0x0d

/** The records of `text`, one at a time; a trailing line break ends the last record. */
export function* csvRecords(text: string): Generator<CsvRecord> {
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0 // a byte-order mark, as Excel writes
  let row = 0
  while (at < text.length) {
    row += 1
    const fields: string[] = []
    for (;;) {
      const [field, next] =
        text.charCodeAt(at) === QUOTE ? quoted(text, at + 1, row) : unquoted(text, at)
      fields.push(field)
      at = next
      const c = text.charCodeAt(at)
      if (c === COMMA) {
        at += 1
        continue
      }
      if (c === CR && text.charCodeAt(at + 1) === LF) at += 2
      else if (c === LF) at += 1
      else if (at < text.length) {
        throw new CsvSyntaxError(row, `unexpected ${JSON.stringify(text[at])} after a quoted field`)
      }
      break
    }
    yield { row, fields }
  }
}

function unquoted(text: string, from: number): [string, number] {
  let at = from
  for (; at < text.length; at++) {
    const c = text.charCodeAt(at)
    if (c === COMMA || c === LF || (c === CR && text.charCodeAt(at + 1) === LF)) break
  }
  return [text.slice(from, at), at]
}

function quoted(text: string, from: number, row: number): [string, number] {
  let out = ''
  let at = from
  for (;;) {
    const close = text.indexOf('"', at)
    if (close < 0) throw new CsvSyntaxError(row, 'a quoted field is never closed')
    out += text.slice(at, close)
    if (text.charCodeAt(close + 1) === QUOTE) {
      out += '"'
      at = close + 2
    } else return [out, close + 1]
  }
}
