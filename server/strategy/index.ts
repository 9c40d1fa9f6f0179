export type * from './types.ts'
export { fedAvg, type FedAvgOptions } from './fed-avg.ts'
