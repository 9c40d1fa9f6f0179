import type { Reporter, TestModule } from 'vitest/node'

/** Ends the run with the plain line CI reads: "N passed, N failed[, N skipped]". */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]) {
    const count = { passed: 0, failed: 0, skipped: 0, pending: 0 }
    for (const module of testModules)
      for (const test of module.children.allTests()) count[test.result().state] += 1
    const skipped = count.skipped + count.pending
    console.log(
      `${count.passed} passed, ${count.failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
    )
  }
}
