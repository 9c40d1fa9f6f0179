export * from './task.ts'
export * from './device.ts'
export * from './events.ts'
export * from './errors.ts'
