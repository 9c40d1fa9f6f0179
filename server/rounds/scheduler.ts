import { strategyFor, type Strategy } from '../strategy/index.ts'
import type { TaskRecord } from '../store/index.ts'
import { createCommit } from './commit.ts'
import { createDownloads } from './downloads.ts'
import { createCore } from './live.ts'
import { policyFor } from './policy/index.ts'
import { createPrivacyBudget } from './privacy-budget.ts'
import { createQueries } from './queries.ts'
import { createRecovery } from './recovery.ts'
import { createSecureCalls } from './secure-calls.ts'
import { createSelection } from './selection.ts'
import { createSubmission, unknown } from './submission.ts'
import { createTasks } from './tasks.ts'
import { createTransitions } from './transitions.ts'
import type { LocalScheduler, SchedulerOptions } from './types.ts'

// What importers of this file used to find here (bench/, server/api/admin.ts).
export type * from './types.ts'
export { TOO_LARGE } from './types.ts'

/**
 * The round scheduler, wired from its parts: the live state and write queue (live.ts), the
 * round's transitions and commit, selection, upload admission and submission, secure
 * aggregation, task changes, recovery and the read side. One task's rounds run one at a time;
 * sync rounds or FedBuff is each task's policy (policy/).
 */
export function createScheduler(options: SchedulerOptions): LocalScheduler {
  const stopping = new AbortController()
  const core = createCore(options, stopping.signal)
  const { log } = core
  const strategyOf = (task: TaskRecord): Strategy =>
    options.strategy ??
    strategyFor(task.spec.aggregation, { log: (message) => log(`task ${task.id} ${message}`) })

  const budget = createPrivacyBudget(core)
  const transitions = createTransitions(core, createCommit(core), budget)
  const { close, startDeadline, startSelecting, openNextRound } = transitions
  const submission = createSubmission(core, close)
  const secure = createSecureCalls(core, submission)
  const policyDeps = { core, submission, secure, startDeadline, close }
  const tasks = createTasks(core, {
    budget,
    strategyOf,
    policyOf: (task) => policyFor(task, policyDeps),
    openNextRound,
  })
  const recovery = createRecovery(core, {
    budget,
    transitions,
    addLiveTask: tasks.addLiveTask,
    abort: () => stopping.abort(),
  })
  const selection = createSelection(core, {
    retry: options.retry ?? { minSeconds: 1, maxSeconds: 10 },
    random: options.random ?? Math.random,
    startSelecting,
  })

  return {
    start: recovery.start,
    stop: recovery.stop,
    settled: transitions.settled,
    createTask: tasks.createTask,
    patchTask: tasks.patchTask,
    deleteTask: tasks.deleteTask,
    checkin: selection.checkin,
    async upload(input) {
      const live = core.tasks.get(input.taskId)
      const result = live
        ? await live.policy.upload(live, input)
        : unknown(`no task ${input.taskId}`)
      core.metrics.inc('pollen_uploads_total', { outcome: result.answer.type })
      return result
    },
    downloaded: createDownloads(core),
    secureView: secure.view,
    secureKeys: secure.keys,
    secureShares: secure.shares,
    secureReveal: secure.reveal,
    ...createQueries(core),
  }
}
