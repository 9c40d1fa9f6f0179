export { withPrivateMean, type PrivateMeanOptions } from './private-mean.ts'
export { scaled, withStaleness } from './staleness.ts'
export { withUpdateBounds, type ReportBounds } from './update-bounds.ts'
