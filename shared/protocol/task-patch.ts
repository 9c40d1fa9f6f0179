import { fieldName } from './errors.ts'
import { roundSettingsIssues, type TaskPatch, type TaskSpec, taskSpecIssues } from './task.ts'

/** A spec as a PATCH leaves it, or every rule the change would break (fields as in API errors). */
export type PatchedSpec<S extends TaskSpec> =
  { ok: true; spec: S } | { ok: false; issues: { field: string; message: string }[] }

/** What a PATCH may change: an issue elsewhere is named by the patched field that caused it. */
const patchable = (path: readonly string[]) =>
  path[0] === 'rounds' || path[0] === 'train' || path[0] === 'compression'

/**
 * Merges a PATCH's round, train and compression settings over a task's spec and checks the result by the rules
 * TaskSpecSchema applies across fields (`roundSettingsIssues`, `taskSpecIssues`): a change is
 * refused as a new task with those settings would be, with the same messages, each naming a field
 * the PATCH can change (`rounds.minReports` for too few reports for the task's robust rule).
 * The patch's own fields were checked by TaskPatchSchema; what depends on the running task (its
 * committed rounds, its model's size) is the coordinator's to check.
 */
export function mergeTaskPatch<S extends TaskSpec>(spec: S, patch: TaskPatch): PatchedSpec<S> {
  const merged: S = {
    ...spec,
    rounds: { ...spec.rounds, ...patch.rounds },
    train: { ...spec.train, ...patch.train },
    compression: {
      uploads: patch.compression?.uploads ?? spec.compression.uploads,
      downloads: patch.compression?.downloads ?? spec.compression.downloads,
    },
  }
  const issues = [
    ...roundSettingsIssues(merged.rounds).map((i) => ({ ...i, path: ['rounds', ...i.path] })),
    ...taskSpecIssues(merged),
  ].map((i) => ({
    field: fieldName(patchable(i.path) ? i.path : (i.cause ?? i.path)),
    message: i.message,
  }))
  return issues.length > 0 ? { ok: false, issues } : { ok: true, spec: merged }
}
