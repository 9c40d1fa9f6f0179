import type { SecAggView } from './messages.ts'
import { member, need, neighboursIn, type RoundState } from './server-state.ts'

/** What participant `id` must do now, in the round's stage (or that it waits). */
export function viewOf(s: RoundState, id: string): SecAggView {
  const { stage } = s
  const { retryAfterSeconds } = s.settings
  if (stage === 'abandoned') return { stage, waiting: false, reason: s.reason ?? 'abandoned' }
  if (stage === 'advertise') return { stage, waiting: s.participants.has(id), retryAfterSeconds }
  const p = member(s, id)
  if (stage === 'done') return { stage, waiting: false }
  const wait = { stage, waiting: true, retryAfterSeconds } as const
  switch (stage) {
    case 'share':
      if (p.shared) return wait
      return {
        stage,
        waiting: false,
        config: s.config!,
        neighbours: p.neighbours.map((n) => ({ id: n, ...member(s, n).keys })),
      }
    case 'collect':
      need(s, id, s.u2, 'did not share')
      if (p.collected) return wait
      return { stage, waiting: false, config: s.config!, ciphertexts: s.inbox.get(id) ?? [] }
    case 'unmask':
      need(s, id, s.u3, 'sent no masked input')
      if (p.revealed || s.finishing) return wait
      return {
        stage,
        waiting: false,
        survivors: neighboursIn(s, id, s.u3),
        dropped: neighboursIn(s, id, s.u2).filter((n) => !s.u3.has(n)),
      }
  }
}
