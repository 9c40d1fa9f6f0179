import type { DatasetSpec } from '../../protocol/datasets.ts'
import type { Examples } from '../examples.ts'

/** One thing wrong with the files a data scientist gave: where it is, and what is wrong. */
export interface FileProblem {
  /** The file's name as given. */
  file: string
  /** An archive's entry (its path inside the archive). */
  entry?: string
  /** A CSV row, 1-based as a spreadsheet shows it (the header is row 1). */
  row?: number
  /** A CSV column, an IDX header field, `label`… */
  field?: string
  message: string
}

/** Either every example, or why not: never some of them. */
export type ReadResult =
  { ok: true; examples: Examples; notes: string[] } | { ok: false; problems: FileProblem[] }

export interface ReadLimits {
  /** Bytes that gzip and zip may expand to, all files together; counted while inflating. */
  maxExpandedBytes: number
  /** Examples in the result; a file that declares or holds more is refused. */
  maxExamples: number
  /** Images of another size than the dataset's: resized (bilinear, the default) or refused. */
  resize?: boolean
}

/** A file as uploaded: its name (for messages and the format's extension) and its bytes. */
export interface NamedFile {
  name: string
  bytes: Uint8Array
}

export type { DatasetSpec, Examples }
