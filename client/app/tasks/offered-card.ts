// The card of a task on offer (running or paused): its terms, and the owner's decision on it.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { h } from '../../ui/dom.ts'
import type { ConsentRecord } from '../storage/index.ts'
import { actionButton, conditionsFieldset, withdrawButton } from './card-actions.ts'
import {
  actionsFor,
  cardHead,
  fact,
  modelText,
  privacyFacts,
  purposeOf,
  type CardContext,
} from './card-parts.ts'
import { joinable, progressFacts, sentText } from './describe.ts'

export function offeredCard(
  ctx: CardContext,
  task: DeviceTaskView,
  consent: ConsentRecord | undefined,
): HTMLLIElement {
  const { document } = ctx
  const stateText = !consent ? 'Not joined' : consent.state === 'granted' ? 'Joined' : 'Paused'
  const { item, title } = cardHead(
    document,
    task.id,
    task.name,
    consent?.state ?? 'none',
    stateText,
  )
  item.append(...purposeOf(document, task.purpose))
  // A purpose changed after the owner agreed: that agreement does not cover it.
  const changed = consent !== undefined && consent.purpose !== task.purpose
  if (changed) {
    item.append(
      h(
        document,
        'p',
        'warning',
        'The purpose changed since you joined, so this task is paused. Read it again, and ' +
          'join again if you agree.',
      ),
    )
  }
  const terms = ctx.privacyTerms(task.privacy)
  item.append(
    h(
      document,
      'dl',
      'facts',
      ...fact(document, 'What leaves this phone', sentText(task)),
      ...fact(document, 'Model', modelText(task.model)),
      ...progressFacts(task).flatMap(([term, value]) => fact(document, term, value)),
      ...fact(document, 'Your data it trains on', `Your “${task.dataset}” examples, on this phone`),
      ...privacyFacts(document, terms),
    ),
  )
  if (task.status === 'paused')
    item.append(h(document, 'p', 'hint', 'The data scientist paused this task for now.'))
  if ((!consent || changed) && !joinable(task)) {
    item.append(
      h(
        document,
        'p',
        'hint',
        'Pollen does not let phones join a task without a purpose: the data scientist has to ' +
          'say why they ask first.',
      ),
    )
  }
  item.append(actionsFor(document, title, ...decisions(ctx, task, consent, terms, changed)))
  if (consent) item.append(conditionsFieldset(ctx, consent))
  return item
}

/** Join (again), Pause, Resume and Withdraw, as the owner's consent allows. */
function decisions(
  ctx: CardContext,
  task: DeviceTaskView,
  consent: ConsentRecord | undefined,
  terms: string[],
  changed: boolean,
): HTMLElement[] {
  const { consents, document } = ctx
  const buttons: HTMLElement[] = []
  if ((!consent || changed) && joinable(task)) {
    buttons.push(
      actionButton(
        ctx,
        changed ? 'Join again' : 'Join',
        'primary',
        async () => {
          // The terms first: nothing is agreed, and nothing trains, until the owner confirms.
          const { confirmJoin } = await import('./confirm.ts')
          if (!(await confirmJoin(task, terms, document))) return false
          await consents.join(task)
          return true
        },
        `You joined “${task.name}”. Pollen trains for it while your conditions hold.`,
      ),
    )
  }
  if (consent?.state === 'granted' && !changed) {
    buttons.push(
      actionButton(
        ctx,
        'Pause',
        null,
        () => consents.pause(task.id),
        `Paused “${task.name}”: nothing trains for it.`,
      ),
    )
  }
  if (consent?.state === 'paused' && !changed) {
    buttons.push(
      actionButton(ctx, 'Resume', null, () => consents.resume(task.id), `Resumed “${task.name}”.`),
    )
  }
  if (consent) buttons.push(withdrawButton(ctx, task.id, task.name))
  return buttons
}
