export type { Digits, Examples } from './examples.ts'
export {
  assertExamples,
  assertShape,
  classesSeen,
  COLS,
  concatExamples,
  featuresAt,
  formatShape,
  labelHistogram,
  MAX_EXAMPLE_SIZE,
  MAX_RANK,
  MNIST_SHAPE,
  NUM_LABELS,
  PIXELS_PER_EXAMPLE,
  ROWS,
  sameShape,
  shapeSize,
  subset,
} from './examples.ts'
export {
  decodeMnist,
  encodeMnist,
  MNIST_HEADER_BYTES,
  MNIST_MAGIC,
  MNIST_VERSION,
  MnistFormatError,
} from './mnist-codec.ts'
export type { MnistFormatErrorCode } from './mnist-codec.ts'
export { shardDirichlet, shardIid, shardNonIid } from './shard.ts'
export type { DirichletOptions, NonIidOptions } from './shard.ts'
export { mulberry32, permutation, randomInt, randomSeed, shuffleInPlace } from './random.ts'
export type { Random } from './random.ts'
