// Test data: a round as the coordinator sends it, with what a test cares about overridden.
import { noParticipation, type RoundView } from '../../shared/protocol/index.ts'

export { noParticipation }

export function round(overrides: Partial<RoundView> = {}): RoundView {
  return {
    round: 1,
    status: 'committed',
    selected: 4,
    reported: 3,
    late: 0,
    rejected: 0,
    dropped: 1,
    examples: 120,
    accuracy: 0.5,
    loss: 1.2,
    accuracyByLabel: null,
    accuracyByClass: null,
    confusion: null,
    trainingLoss: null,
    staleness: null,
    epsilon: null,
    updateBounds: null,
    abandonedReason: null,
    baseModel: 'base',
    model: 'next',
    startedAt: '2026-11-25T00:00:00.000Z',
    firstAssignedAt: '2026-11-25T00:00:00.000Z',
    waitingSeconds: 0,
    trainingSeconds: 90,
    deadlineAt: '2026-11-25T00:02:00.000Z',
    closedAt: '2026-11-25T00:01:30.000Z',
    bytesUp: 0,
    bytesDown: 0,
    bytesUpByCodec: {},
    bytesDownByEncoding: {},
    participation: noParticipation(),
    ...overrides,
  }
}
