export type { BlobStore } from './types.ts'
export { fileBlobStore, sweepBlobTemporaries } from './file.ts'
export { postgresBlobStore } from './postgres.ts'
export { CorruptBlobError } from './verify.ts'
