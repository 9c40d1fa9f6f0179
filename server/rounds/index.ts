// The round engine's public face: the scheduler, its contract, and the upload outcomes.
export { createScheduler } from './scheduler.ts'
export type * from './types.ts'
export { TOO_LARGE } from './types.ts'
