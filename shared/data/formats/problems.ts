import type { FileProblem, ReadResult } from './types.ts'

/** Problems reported at most: past this the reader stops, so a broken file costs little. */
export const MAX_PROBLEMS = 20

/** Collects problems up to MAX_PROBLEMS; `full` tells a reader to stop looking. */
export class Problems {
  readonly list: FileProblem[] = []
  #dropped = false

  add(problem: FileProblem): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(clipped(problem))
    else this.#dropped = true
  }

  get full(): boolean {
    return this.list.length >= MAX_PROBLEMS
  }

  get any(): boolean {
    return this.list.length > 0
  }

  /** The refusal, with a last line when more problems were found than reported. */
  result(): ReadResult & { ok: false } {
    const problems = [...this.list]
    const last = problems.at(-1)
    if ((this.#dropped || this.full) && last) {
      problems.push({ file: last.file, message: `stopped after ${MAX_PROBLEMS} problems` })
    }
    return { ok: false, problems }
  }
}

/** A refusal with one problem. */
export const refuse = (problem: FileProblem): ReadResult & { ok: false } => ({
  ok: false,
  problems: [clipped(problem)],
})

/** Names come from the upload (a zip entry's may be 64 KiB): a problem quotes at most this. */
export const MAX_NAME = 300

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s)

function clipped(p: FileProblem): FileProblem {
  return {
    ...p,
    file: clip(p.file, MAX_NAME),
    ...(p.entry === undefined ? {} : { entry: clip(p.entry, MAX_NAME) }),
    ...(p.field === undefined ? {} : { field: clip(p.field, MAX_NAME) }),
    message: clip(p.message, 4 * MAX_NAME),
  }
}

/** Thrown inside a reader to refuse at once; caught at its entry point. */
export class FormatProblem extends Error {
  constructor(readonly problem: FileProblem) {
    super(problem.message)
    this.name = 'FormatProblem'
  }
}

/** "1,234,567" for messages. */
export const count = (n: number): string => n.toLocaleString('en-US')
