export * from './accountant.ts'
export * from './clip.ts'
export * from './noise.ts'
