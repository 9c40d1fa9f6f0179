// Update and model codecs (issue 18): each turns a Float32Array into bytes and back, header-free
// (the tensor container will carry lengths, block sizes and seeds). Pure maths, typed arrays
// only: the same in Node, the page and the training worker.
export * from './float16.ts'
export * from './int8.ts'
export * from './topk.ts'
export { MAX_ENTRIES } from './limits.ts'
export { seededUniform } from './random.ts'
export * from './bbit.ts'
export { rotate, unrotate } from './hadamard.ts'
