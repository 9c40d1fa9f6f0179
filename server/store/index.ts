export type * from './types.ts'
export { ASSIGNMENT_STATES, FRESH_ROUND } from './types.ts'
export { pgliteStore } from './pglite.ts'
