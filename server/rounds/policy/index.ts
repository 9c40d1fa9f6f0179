import type { TaskRecord } from '../../store/index.ts'
import type { RoundPolicy } from '../live.ts'
import { asyncPolicy } from './async.ts'
import { syncPolicy, type PolicyDeps } from './sync.ts'

export type { PolicyDeps } from './sync.ts'

/** The one place that asks a task's mode: its rounds' policy (a fresh one per task). */
export const policyFor = (task: TaskRecord, deps: PolicyDeps): RoundPolicy =>
  task.spec.mode === 'async' ? asyncPolicy(deps) : syncPolicy(deps)
