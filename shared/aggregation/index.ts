export * from './weighted-mean.ts'
