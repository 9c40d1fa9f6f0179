// Which models the Try screen offers: the coordinator's tasks this phone may try, or offline the
// models it kept, with a note when there is nothing to try.
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { isDigitDataset } from '../data/digits.ts'
import { isEnded } from '../tasks/describe.ts'

export interface TryChoice {
  id: string
  name: string
}

export interface TryChoices {
  /** The tasks listed by the coordinator, by id (none offline). */
  views: Map<string, DeviceTaskView>
  offered: TryChoice[]
  /** Said instead of the chosen model's text ('' when there is a model to try). */
  note: string
}

export interface ChoiceSources {
  /** The tasks the coordinator offers. */
  tasks: () => Promise<DeviceTaskView[]>
  /** The tasks this phone ever joined (its privacy ledger keeps them, withdrawn or not). */
  joined: () => Promise<ReadonlySet<string>>
  /** The models this phone kept, newest first. */
  stored: () => Promise<{ taskId: string; taskName: string }[]>
}

/**
 * The tasks whose model can be tried: those on offer, and those that ended which this phone took
 * part in, that read digits (Try draws one: a photo or a CSV row is no input for it).
 */
export function triable(
  tasks: readonly DeviceTaskView[],
  joined: ReadonlySet<string>,
): DeviceTaskView[] {
  return tasks.filter((t) => (!isEnded(t.status) || joined.has(t.id)) && readsDigits(t))
}

/** A task on a digit dataset; one whose dataset is no longer declared, by its name. */
const readsDigits = (t: Pick<DeviceTaskView, 'dataset' | 'datasetSpec'>) =>
  t.datasetSpec ? isDigitDataset(t.datasetSpec) : t.dataset === 'mnist'

export async function tryChoices({ tasks, joined, stored }: ChoiceSources): Promise<TryChoices> {
  try {
    const listed = triable(await tasks(), await joined())
    const offered = listed.map((t) => ({
      id: t.id,
      name: isEnded(t.status) ? `${t.name} (final model)` : t.name,
    }))
    return {
      views: new Map(listed.map((t) => [t.id, t])),
      offered,
      note:
        offered.length === 0
          ? 'The coordinator offers no task that reads digits right now, so there is no model ' +
            'to try here. A data scientist has to start one first.'
          : '',
    }
  } catch {
    // Offline (or the coordinator is down): the models this phone kept still work.
    const offered = (await stored()).map((m) => ({ id: m.taskId, name: m.taskName }))
    return {
      views: new Map(),
      offered,
      note:
        offered.length === 0
          ? 'There is no connection to the coordinator, and this phone has not kept a model ' +
            'yet. Try the model once while online; after that it works offline too.'
          : 'Offline: only the models this phone kept can be tried.',
    }
  }
}
