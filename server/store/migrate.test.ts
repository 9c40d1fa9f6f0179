import { PGlite } from '@electric-sql/pglite'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { migrate, readMigrations, type Migration } from './migrate.ts'
import { pgliteDatabase, pgliteStore } from './pglite.ts'
import { aTask } from './store.case.ts'

const m = (version: number, sql: string): Migration => ({ version, name: `00${version}-t`, sql })

describe('migrations', () => {
  it('ships 001 base and 002 datasets, in version order', async () => {
    const shipped = await readMigrations()
    expect(shipped.map((x) => x.name).slice(0, 2)).toEqual(['001-base', '002-datasets'])
    const versions = shipped.map((x) => x.version)
    expect(versions).toEqual([...versions].sort((a, b) => a - b))
  })

  it('applies each once, in order, each recorded with its time', async () => {
    const db = pgliteDatabase(await PGlite.create('memory://'))
    const list = [
      m(2, 'insert into t values (2)'),
      m(1, 'create table t (n int)'),
      m(3, 'insert into t values (3)'),
    ].sort((a, b) => a.version - b.version)
    expect(await migrate(db, { migrations: list.slice(0, 2), now: () => 7 })).toEqual([1, 2])
    expect(await migrate(db, { migrations: list, now: () => 8 })).toEqual([3])
    expect(await migrate(db, { migrations: list })).toEqual([])
    expect((await db.query('select n from t order by n')).rows).toEqual([{ n: 2 }, { n: 3 }])
    const { rows } = await db.query('select * from schema_migrations order by version')
    expect(rows).toEqual([
      { version: 1, name: '001-t', applied_at: 7 },
      { version: 2, name: '002-t', applied_at: 7 },
      { version: 3, name: '003-t', applied_at: 8 },
    ])
    await db.close()
  })

  it('rolls a failing migration back with its record, keeping the ones before it', async () => {
    const db = pgliteDatabase(await PGlite.create('memory://'))
    const list = [m(1, 'create table t (n int)'), m(2, 'insert into t values (1); select nope')]
    await expect(migrate(db, { migrations: list })).rejects.toThrow(/nope/)
    expect((await db.query('select version from schema_migrations')).rows).toEqual([{ version: 1 }])
    expect((await db.query('select * from t')).rows).toEqual([])
    // The lock is released: a fixed migration applies.
    expect(await migrate(db, { migrations: [list[0]!, m(2, 'insert into t values (1)')] })).toEqual(
      [2],
    )
    await db.close()
  })

  it('refuses a database migrated by a newer coordinator', async () => {
    const db = pgliteDatabase(await PGlite.create('memory://'))
    await migrate(db, { migrations: [m(1, 'select 1'), m(9, 'select 1')] })
    await expect(migrate(db, { migrations: [m(1, 'select 1')] })).rejects.toThrow(
      /migration 9.*newer/,
    )
    await db.close()
  })

  it('upgrades a data dir made before migrations: its rows kept, every migration recorded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pollen-old-dir-'))
    // As an older coordinator left it: its schema (001 and 002 are that schema, verbatim) and
    // a task, but no schema_migrations.
    const shipped = await readMigrations()
    const old = await PGlite.create(dir)
    for (const x of shipped.filter((x) => x.version <= 2)) await old.exec(x.sql)
    const task = aTask('kept')
    await old.query(
      `insert into tasks (id, spec, status, model_hash, round, committed_rounds, created_at, updated_at)
       values ($1, $2, 'running', $3, 0, 0, 1, 1)`,
      [task.id, JSON.stringify(task.spec), task.modelHash],
    )
    await old.close()
    const store = await pgliteStore(dir)
    expect((await store.getTask('kept'))?.spec.name).toBe('task kept')
    await store.close()
    const raw = await PGlite.create(dir)
    const { rows } = await raw.query<{ version: number }>(
      'select version from schema_migrations order by version',
    )
    expect(rows.map((r) => r.version)).toEqual(shipped.map((x) => x.version))
    await raw.close()
  })

  it('refuses a misnamed file and two files with one version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pollen-migrations-'))
    await writeFile(join(dir, '001-a.sql'), 'select 1')
    await writeFile(join(dir, 'notes.txt'), 'not a migration')
    expect((await readMigrations(dir)).map((x) => x.name)).toEqual(['001-a'])
    await writeFile(join(dir, '001-b.sql'), 'select 1')
    await expect(readMigrations(dir)).rejects.toThrow(/001-a.*001-b.sql.*version 1/)
    const bad = await mkdtemp(join(tmpdir(), 'pollen-migrations-'))
    await writeFile(join(bad, '2-datasets.sql'), 'select 1')
    await expect(readMigrations(bad)).rejects.toThrow(/2-datasets.sql.*NNN-name.sql/)
  })
})
