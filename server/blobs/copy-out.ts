import type { Connection, PoolClient, Submittable } from 'pg'

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')

/**
 * Runs `COPY (query) TO STDOUT (FORMAT binary)` on `client` and returns its one column of its
 * one row as raw bytes, or undefined without a row. node-postgres reads query results as text,
 * where a bytea arrives hex-encoded (twice its size, encoded by the server and decoded here);
 * COPY's binary format carries the bytes as they are: about 4× faster for a model here
 * (docs/BENCHMARKS.md). It goes through node-postgres's Submittable interface, which receives
 * the protocol's CopyData messages, as pg-copy-streams does.
 */
export async function copyOneBytea(client: PoolClient, query: string): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  const out = await new Promise<Buffer>((resolve, reject) => {
    const copy: Submittable & Record<string, unknown> = {
      submit: (connection: Connection) =>
        connection.query(`copy (${query}) to stdout (format binary)`),
      handleCopyData: (message: { chunk: Buffer }) => void chunks.push(message.chunk),
      handleCommandComplete: () => {},
      handleReadyForQuery: () => resolve(Buffer.concat(chunks)),
      handleError: (error: Error) => reject(error),
    }
    client.query(copy)
  })
  return oneField(out)
}

/** The one field of the one row of a binary COPY, or undefined for no row (or a NULL). */
export function oneField(out: Buffer): Buffer | undefined {
  const bad = (why: string) => new Error(`binary COPY: ${why}`)
  if (out.length < SIGNATURE.length + 8 || !out.subarray(0, SIGNATURE.length).equals(SIGNATURE))
    throw bad('no signature')
  // Flags (int32), then a header extension of the given length (int32) to skip.
  let at = SIGNATURE.length + 4
  at += 4 + out.readInt32BE(at)
  const fields = out.readInt16BE(at)
  if (fields === -1) return undefined // the trailer: no row
  if (fields !== 1) throw bad(`a row of ${fields} fields`)
  const length = out.readInt32BE(at + 2)
  if (length === -1) return undefined
  const start = at + 6
  if (length < 0 || start + length + 2 > out.length) throw bad('a field past the end')
  if (out.readInt16BE(start + length) !== -1) throw bad('more than one row')
  return out.subarray(start, start + length)
}
