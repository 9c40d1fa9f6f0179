import { DatasetSpecSchema } from '../../shared/protocol/index.ts'
import type { Sql } from './sql.ts'
import type { DatasetRecord, Store } from './types.ts'

interface DatasetRow {
  name: string
  spec: unknown
  created_at: string | number
  updated_at: string | number
  held_out_hash: string | null
  held_out_examples: number | null
  held_out_labels: number[] | null
  held_out_uploaded_at: string | number | null
}

const toDataset = (r: DatasetRow): DatasetRecord => ({
  name: r.name,
  // Parsed again so that a spec stored before a field existed reads with its default.
  spec: DatasetSpecSchema.parse(r.spec),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  heldOut:
    r.held_out_hash === null
      ? null
      : {
          hash: r.held_out_hash,
          examples: r.held_out_examples ?? 0,
          labels: r.held_out_labels ?? [],
          uploadedAt: Number(r.held_out_uploaded_at),
        },
})

/** The held-out set's four columns, all null without one: set together, in one statement. */
const heldOutColumns = (h: DatasetRecord['heldOut']) => [
  h?.hash ?? null,
  h?.examples ?? null,
  h ? JSON.stringify(h.labels) : null,
  h?.uploadedAt ?? null,
]

type DatasetMethods = Pick<
  Store,
  'insertDataset' | 'getDataset' | 'listDatasets' | 'updateDataset' | 'deleteDataset'
>

export function sqlDatasets(db: Sql): DatasetMethods {
  return {
    async insertDataset(d) {
      await db.query(
        `insert into datasets (name, spec, created_at, updated_at, held_out_hash,
           held_out_examples, held_out_labels, held_out_uploaded_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [d.name, JSON.stringify(d.spec), d.createdAt, d.updatedAt, ...heldOutColumns(d.heldOut)],
      )
    },
    async getDataset(name) {
      const { rows } = await db.query<DatasetRow>('select * from datasets where name = $1', [name])
      return rows[0] ? toDataset(rows[0]) : undefined
    },
    async listDatasets() {
      return (await db.query<DatasetRow>('select * from datasets order by name')).rows.map(
        toDataset,
      )
    },
    async updateDataset(name, patch) {
      const sets: string[] = []
      const values: unknown[] = []
      const set = (column: string, value: unknown) => {
        values.push(value)
        sets.push(`${column} = $${values.length}`)
      }
      if (patch.spec !== undefined) set('spec', JSON.stringify(patch.spec))
      if (patch.updatedAt !== undefined) set('updated_at', patch.updatedAt)
      if (patch.heldOut !== undefined) {
        const [hash, examples, labels, at] = heldOutColumns(patch.heldOut)
        set('held_out_hash', hash)
        set('held_out_examples', examples)
        set('held_out_labels', labels)
        set('held_out_uploaded_at', at)
      }
      if (sets.length === 0) return
      values.push(name)
      await db.query(
        `update datasets set ${sets.join(', ')} where name = $${values.length}`,
        values,
      )
    },
    async deleteDataset(name) {
      const { rowCount } = await db.query('delete from datasets where name = $1', [name])
      return rowCount > 0
    },
  }
}
