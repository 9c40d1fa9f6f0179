export * from './accountant.ts'
