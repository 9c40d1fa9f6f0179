export type * from './types.ts'
export { ASSIGNMENT_STATES } from './types.ts'
export { pgliteStore } from './pglite.ts'
