// `npm start` asks this before it rebuilds the app: a second coordinator on a data dir in use must
// refuse before its build replaces the files the first one is serving.
import { resolve } from 'node:path'
import { assertDataDirFree, DataDirLocked } from '../server/lock/index.ts'

try {
  await assertDataDirFree(resolve(process.env.POLLEN_DATA || './.pollen'))
} catch (error) {
  if (!(error instanceof DataDirLocked)) throw error
  console.error(`data dir: ${error.message}`)
  process.exit(1)
}
