// The data screen's datasets beyond the demo: one card for each dataset that a task this phone
// may join trains on (the coordinator's list), and for each one offered before whose examples
// are still stored (remembered, so they can be seen and deleted offline or after the task ended).
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'
import {
  INDEXES,
  type PollenDatabase,
  rememberDatasets,
  rememberedDatasets,
  STORES,
} from '../storage/index.ts'
import type { DeviceTaskView } from '../../../shared/protocol/index.ts'
import { byId } from '../../ui/dom.ts'
import { confirmer } from './confirm.ts'
import { type DatasetCard, datasetCard } from './dataset-card.ts'
import { datasetsOffered } from './offered.ts'

export interface DatasetCardsOptions {
  db: PollenDatabase
  document: Document
  /** Where the cards go, in order. */
  container: HTMLElement
  /** The datasets of the tasks this phone may join; rejects when the coordinator is out of reach. */
  offered: () => Promise<DatasetSpec[]>
  /** Datasets the page shows elsewhere (the demo's digits). */
  except: ReadonlySet<string>
  confirm: (text: string) => Promise<boolean>
  /** After examples were stored or deleted. */
  onChanged: () => Promise<void>
  media?: Pick<MediaDevices, 'getUserMedia'> | undefined
}

export interface DatasetCards {
  /** Asks the coordinator which datasets are offered (else uses those remembered) and redraws. */
  refresh(): Promise<void>
  /** The datasets shown, in order. */
  shown(): DatasetSpec[]
}

export function mountDatasetCards(options: DatasetCardsOptions): DatasetCards {
  const { db, document, container, offered, except, confirm, onChanged, media } = options
  /** Cards by dataset name, with the spec they were drawn for: kept while it is the same. */
  const cards = new Map<string, { card: DatasetCard; key: string }>()
  let order: DatasetSpec[] = []

  async function refresh(): Promise<void> {
    let current: DatasetSpec[] | null = null
    // Offline, asking would take the requests' retries (about 30 s) to fail: the remembered
    // ones are all there is, as when the coordinator does not answer.
    if (navigator.onLine) current = await offered().catch(() => null)
    const remembered = current
      ? await rememberDatasets(db, current).catch(() => current ?? [])
      : await rememberedDatasets(db)
    const live = new Set(current?.map((s) => s.name) ?? remembered.map((s) => s.name))
    const wanted: DatasetSpec[] = []
    for (const spec of remembered) {
      if (except.has(spec.name)) continue
      // A dataset no longer offered stays while its examples do.
      if (live.has(spec.name) || (await stored(db, spec.name)) > 0) wanted.push(spec)
    }
    order = wanted
    const keep = new Set(wanted.map((s) => s.name))
    for (const [name, { card }] of cards) {
      if (keep.has(name)) continue
      card.element.remove()
      cards.delete(name)
    }
    const elements: HTMLElement[] = []
    for (const spec of wanted) {
      const key = JSON.stringify(spec)
      let entry = cards.get(spec.name)
      if (entry?.key !== key) {
        entry?.card.element.remove()
        const card = datasetCard({
          db,
          document,
          spec,
          confirm,
          onChanged,
          ...(media ? { media } : {}),
        })
        entry = { card, key }
        cards.set(spec.name, entry)
      }
      elements.push(entry.card.element)
    }
    // Only a change of order moves cards (moving one would take the focus out of it).
    const children = [...container.children]
    if (children.length !== elements.length || children.some((c, i) => c !== elements[i]))
      container.replaceChildren(...elements)
    container.hidden = elements.length === 0
    await Promise.all([...cards.values()].map(({ card }) => card.refresh()))
  }

  return { refresh, shown: () => [...order] }
}

const stored = (db: PollenDatabase, dataset: string): Promise<number> =>
  db.countFromIndex(STORES.examples, INDEXES.byDataset, dataset)

export interface PageCardsOptions {
  db: PollenDatabase
  document: Document
  /** The tasks the coordinator offers; rejects when it cannot be asked. */
  tasks: () => Promise<readonly Pick<DeviceTaskView, 'status' | 'datasetSpec'>[]>
  /** The dataset the page's own cards serve (the demo's digits). */
  except: string
  onChanged: () => Promise<void>
  media?: Pick<MediaDevices, 'getUserMedia'> | undefined
}

/** The cards in the page's #datasets, deleting behind its #confirm-dataset dialog. */
export function mountPageCards({ document, tasks, except, ...rest }: PageCardsOptions) {
  return mountDatasetCards({
    ...rest,
    document,
    container: byId(document, 'datasets', HTMLDivElement),
    offered: async () => datasetsOffered(await tasks()),
    except: new Set([except]),
    confirm: confirmer(
      byId(document, 'confirm-dataset', HTMLDialogElement),
      byId(document, 'confirm-dataset-text', HTMLParagraphElement),
    ),
  })
}
