// The cards of the tasks screen, one per task: on offer (its terms and the owner's decision),
// ended (how it ended, nothing left to decide), removed, or as joined while the coordinator cannot
// be reached. Loaded with the screen's first render, apart from the page's first bundle.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import type { ConsentRecord } from '../storage/index.ts'
import type { CardContext } from './card-parts.ts'
import { endedCard, removedCard, storedCard } from './joined-cards.ts'
import { offeredCard } from './offered-card.ts'

export type { CardContext } from './card-parts.ts'

/** The screen's card makers, bound to its context. */
export function taskCards(ctx: CardContext) {
  return {
    offeredCard: (task: DeviceTaskView, consent: ConsentRecord | undefined) =>
      offeredCard(ctx, task, consent),
    endedCard: (task: DeviceTaskView) => endedCard(ctx, task),
    removedCard: (consent: ConsentRecord) => removedCard(ctx, consent),
    storedCard: (consent: ConsentRecord) => storedCard(ctx, consent),
  }
}
