// The cards of tasks the phone joined that are no longer on offer: one that ended (how, how far it
// got, its final model to try), one the coordinator no longer lists (removed), and one joined while
// the coordinator cannot be reached (as the owner agreed to it).
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { h } from '../../ui/dom.ts'
import type { ConsentRecord } from '../storage/index.ts'
import { actionButton, conditionsFieldset, forgetButton, withdrawButton } from './card-actions.ts'
import {
  actionsFor,
  cardHead,
  fact,
  modelText,
  privacyFacts,
  purposeOf,
  type CardContext,
} from './card-parts.ts'
import { endedLabel, endedText } from './describe.ts'

/** A task that ended: how, how far it got and its final accuracy; nothing left to decide. */
export function endedCard(ctx: CardContext, task: DeviceTaskView): HTMLLIElement {
  const { document } = ctx
  const { item, title } = cardHead(document, task.id, task.name, 'ended', endedLabel(task))
  item.classList.add('ended')
  const tryIt = h(document, 'a', 'button', 'Try its final model')
  tryIt.href = '#try'
  item.append(
    ...purposeOf(document, task.purpose),
    h(document, 'p', 'outcome-text', endedText(task) ?? ''),
    h(document, 'p', 'hint', 'Nothing trains for it any more.'),
    h(
      document,
      'dl',
      'facts',
      ...fact(document, 'Model', modelText(task.model)),
      ...fact(
        document,
        'Your data it trained on',
        `Your “${task.dataset}” examples, on this phone`,
      ),
      ...privacyFacts(document, ctx.privacyTerms(task.privacy)),
    ),
    actionsFor(document, title, tryIt, forgetButton(ctx, task.id, task.name)),
  )
  return item
}

/** A task joined that the coordinator no longer lists: its data scientist deleted it. */
export function removedCard(ctx: CardContext, consent: ConsentRecord): HTMLLIElement {
  const { document } = ctx
  const { item, title } = cardHead(document, consent.taskId, consent.taskName, 'ended', 'Removed')
  item.classList.add('ended')
  item.append(
    ...purposeOf(document, consent.purpose),
    h(
      document,
      'p',
      'outcome-text',
      'The data scientist removed this task from the coordinator. Nothing trains for it, ' +
        'and its model can no longer be tried.',
    ),
    actionsFor(document, title, forgetButton(ctx, consent.taskId, consent.taskName)),
  )
  return item
}

/** A task joined, while the coordinator cannot be reached: as the owner agreed to it. */
export function storedCard(ctx: CardContext, consent: ConsentRecord): HTMLLIElement {
  const { document } = ctx
  const stateText = consent.state === 'granted' ? 'Joined' : 'Paused'
  const { item, title } = cardHead(
    document,
    consent.taskId,
    consent.taskName,
    consent.state,
    stateText,
  )
  item.append(
    ...purposeOf(document, consent.purpose),
    h(
      document,
      'p',
      'hint',
      'The coordinator cannot be reached, so this is the task as you joined it.',
    ),
  )
  const pause =
    consent.state === 'granted'
      ? [
          actionButton(
            ctx,
            'Pause',
            null,
            () => ctx.consents.pause(consent.taskId),
            `Paused “${consent.taskName}”.`,
          ),
        ]
      : []
  item.append(
    actionsFor(document, title, ...pause, withdrawButton(ctx, consent.taskId, consent.taskName)),
  )
  item.append(conditionsFieldset(ctx, consent))
  return item
}
