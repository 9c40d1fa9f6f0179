export * from './accountant.ts'
export * from './clip.ts'
