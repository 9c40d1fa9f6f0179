import type { AppTrainer } from './state.ts'

/**
 * Loads the training worker (TF.js in a module Web Worker, client/app/training/) and makes its
 * trainer. A dynamic import: TF.js and the worker's page side stay out of the page's first
 * bundle and load only when there is work.
 */
export async function loadWorkerTrainer(): Promise<AppTrainer> {
  const { createWorkerTrainer } = await import('../training/index.ts')
  return createWorkerTrainer()
}
