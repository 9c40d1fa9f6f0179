export * from './named-tensor.ts'
export * from './container.ts'
export { sha256Hex } from './hash.ts'
