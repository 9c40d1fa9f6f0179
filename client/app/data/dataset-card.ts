// One dataset on the data screen: what it is, what is stored of it per class, how the owner
// adds to it (pictures for images, a CSV for tabular data, the pad for digits) when its spec
// lets phones label by hand, and "Delete these examples" behind a confirmation.
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'
import { h } from '../../ui/dom.ts'
import type { PollenDatabase } from '../storage/index.ts'
import { classCountsList, countsSummary } from './class-counts.ts'
import { isDigitDataset } from './digits.ts'
import { digitAddForm } from './digit-add.ts'
import { imageAddForm } from './image-add.ts'
import { errorText, liveMessage, plural, speaker } from './say.ts'
import { classCounts, deleteDatasetExamples, storeExamples } from './store.ts'
import { tabularAddForm } from './tabular-add.ts'

export interface DatasetCardOptions {
  db: PollenDatabase
  document: Document
  spec: DatasetSpec
  /** Asks the owner to confirm `text`; resolves true to go ahead. */
  confirm: (text: string) => Promise<boolean>
  /** After examples were stored or deleted (the rest of the screen may redraw). */
  onChanged: () => Promise<void>
  media?: Pick<MediaDevices, 'getUserMedia'> | undefined
}

export interface DatasetCard {
  element: HTMLElement
  spec: DatasetSpec
  /** Reads the stored counts again and redraws them. */
  refresh(): Promise<void>
}

export function datasetCard({
  db,
  document,
  spec,
  confirm,
  onChanged,
  media,
}: DatasetCardOptions): DatasetCard {
  const el = <K extends keyof HTMLElementTagNameMap>(
    tag: K,
    className: string | null,
    ...children: (Node | string)[]
  ) => h(document, tag, className, ...children)

  const title = el('h2', null, spec.name)
  title.id = `dataset-${spec.name}-title`
  const summary = el('p', 'summary', 'Reading…')
  summary.setAttribute('aria-live', 'polite')
  let counts = classCountsList(document, spec.name, spec.classes, [])
  const remove = el('button', 'danger', `Delete these examples`)
  remove.type = 'button'
  remove.disabled = true
  const message = liveMessage(document, 'p')
  const say = speaker(message)
  let total = 0

  async function refresh(): Promise<void> {
    const perClass = await classCounts(db, spec)
    total = perClass.reduce((a, b) => a + b, 0)
    summary.textContent = countsSummary(total)
    const fresh = classCountsList(document, spec.name, spec.classes, perClass)
    counts.replaceWith(fresh)
    counts = fresh
    remove.disabled = total === 0
  }
  const stored = async () => {
    await refresh()
    await onChanged()
  }

  const adders: HTMLElement[] = []
  if (!spec.deviceLabelling) {
    adders.push(
      el(
        'p',
        'hint',
        'The data scientist does not let phones add examples to this dataset by hand: ' +
          'an app on this phone that keeps such data may add them.',
      ),
    )
  } else if (spec.features.kind === 'image') {
    const image = { ...spec, features: spec.features }
    const save = async (features: Uint8Array, label: number, source: 'camera' | 'imported') => {
      await storeExamples(db, spec, { features, labels: Uint8Array.of(label), source })
      await stored()
    }
    if (isDigitDataset(spec)) adders.push(digitAddForm({ db, document, spec, onStored: stored }))
    adders.push(imageAddForm({ document, spec: image, save, ...(media ? { media } : {}) }))
  } else {
    adders.push(tabularAddForm({ db, document, spec, onStored: stored }))
  }

  remove.addEventListener('click', () => {
    const text =
      `This removes the ${plural(total, 'example')} of “${spec.name}” stored on this phone, ` +
      'and the training and unsent updates made from them. It cannot be undone.'
    confirm(text)
      .then(async (yes) => {
        if (!yes) return
        remove.disabled = true
        const count = await deleteDatasetExamples(db, spec.name)
        say('ok', `Deleted ${plural(count, 'example')} of “${spec.name}”.`)
        await stored()
      })
      .catch((error: unknown) => say('error', `Deleting failed: ${errorText(error)}`))
      .finally(() => {
        remove.disabled = total === 0
      })
  })

  const element = el(
    'section',
    'card dataset',
    title,
    ...(spec.description ? [el('p', 'hint', spec.description)] : []),
    summary,
    counts,
    ...adders,
    el('div', 'actions', remove),
    message,
  )
  element.setAttribute('aria-labelledby', title.id)
  element.dataset.dataset = spec.name
  return { element, spec, refresh }
}
