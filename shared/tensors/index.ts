export * from './named-tensor.ts'
export * from './container.ts'
export { SHA256_HEX, sha256Hex } from './hash.ts'
export {
  BlockScratch,
  decodeEncoded,
  EncodedTensors,
  forEachBlock,
  isEncoded,
  materialize,
  readEncoded,
  type UpdateTensors,
} from './encoded.ts'
export * from './model-encodings.ts'
