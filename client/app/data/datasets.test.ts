// The data screen's dataset cards in Chromium, on real IndexedDB: which datasets get a card
// (offered, or remembered with examples), what each offers by kind and by its labelling
// switch, counts per class name, and deleting one dataset behind a confirmation.
import { afterEach, describe, expect, it } from 'vitest'
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'
import { type PollenDatabase, readExamples } from '../storage/index.ts'
import { testDatabases } from '../storage/testing.ts'
import { mountDatasetCards } from './datasets.ts'
import { classCounts, storeExamples } from './store.ts'

const image = (name: string, more: Partial<DatasetSpec> = {}): DatasetSpec => ({
  name,
  description: `About ${name}.`,
  tags: [],
  features: { kind: 'image', height: 4, width: 4, channels: 3 },
  classes: ['cat', 'dog', 'bird'],
  deviceLabelling: true,
  ...more,
})
const tabular: DatasetSpec = {
  name: 'answers',
  description: '',
  tags: [],
  features: { kind: 'tabular', columns: [{ name: 'age' }, { name: 'score' }] },
  classes: ['no', 'yes'],
  deviceLabelling: true,
}
const digits: DatasetSpec = image('my-digits', {
  features: { kind: 'image', height: 28, width: 28, channels: 1 },
  classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
})

const { open: fresh } = testDatabases('pollen-datasets-screen')

afterEach(() => document.body.replaceChildren())

function mount(db: PollenDatabase, offered: () => Promise<DatasetSpec[]>, answer: boolean[] = []) {
  const container = document.createElement('div')
  document.body.append(container)
  const asked: string[] = []
  const cards = mountDatasetCards({
    db,
    document,
    container,
    offered,
    except: new Set(['mnist']),
    confirm: (text) => {
      asked.push(text)
      return Promise.resolve(answer.shift() ?? false)
    },
    onChanged: () => Promise.resolve(),
  })
  const card = (name: string) => container.querySelector<HTMLElement>(`[data-dataset="${name}"]`)
  const counts = (name: string) =>
    [...card(name)!.querySelectorAll<HTMLLIElement>('.counts li')].map((li) => [
      li.querySelector('.class-name')!.textContent,
      Number(li.dataset.count),
    ])
  return { cards, container, card, counts, asked }
}

const pixels = (count: number) => new Uint8Array(count * 4 * 4 * 3).fill(200)

describe('mountDatasetCards', () => {
  it('draws a card per dataset offered, by kind, with counts per class name', async () => {
    const db = await fresh()
    const offered = [image('pets'), tabular, digits, image('mnist')]
    const ui = mount(db, () => Promise.resolve(offered))
    await storeExamples(db, offered[0]!, {
      features: pixels(3),
      labels: Uint8Array.of(0, 2, 2),
      source: 'imported',
    })
    await ui.cards.refresh()
    // The demo's digits have their own cards on the page.
    expect(ui.cards.shown().map((s) => s.name)).toEqual(['pets', 'answers', 'my-digits'])
    const pets = ui.card('pets')!
    expect(pets.getAttribute('aria-labelledby')).toBe('dataset-pets-title')
    expect(pets.querySelector('h2')!.textContent).toBe('pets')
    expect(pets.textContent).toContain('About pets.')
    expect(pets.querySelector('.summary')!.textContent).toBe('3 examples.')
    expect(ui.counts('pets')).toEqual([
      ['cat', 1],
      ['dog', 0],
      ['bird', 2],
    ])
    expect(pets.querySelector('ul.counts')!.getAttribute('aria-label')).toBe(
      'Examples per class of pets',
    )
    // Pictures for an image dataset; a CSV for a tabular one; the pad too for digits.
    expect(pets.querySelector('form.add-images')).not.toBeNull()
    expect(pets.querySelector('form.add-csv')).toBeNull()
    expect([...pets.querySelectorAll('select option')].map((o) => o.textContent)).toEqual([
      'Choose its class…',
      'cat',
      'dog',
      'bird',
    ])
    expect(ui.card('answers')!.querySelector('form.add-csv')).not.toBeNull()
    expect(ui.card('answers')!.querySelector('form.add-images')).toBeNull()
    expect(ui.card('answers')!.textContent).toContain('“age”, “score”')
    expect(ui.card('my-digits')!.querySelector('canvas.pad')).not.toBeNull()
    expect(ui.card('my-digits')!.querySelector('form.add-images')).not.toBeNull()
    expect(ui.card('my-digits')!.querySelector('.summary')!.textContent).toBe('No examples yet.')
  })

  it('says so, and offers no way to add, where phones may not label by hand', async () => {
    const db = await fresh()
    const ui = mount(db, () => Promise.resolve([image('sealed', { deviceLabelling: false })]))
    await ui.cards.refresh()
    const card = ui.card('sealed')!
    expect(card.textContent).toContain('does not let phones add examples to this dataset by hand')
    expect(card.querySelector('form')).toBeNull()
  })

  it('offline, shows the datasets remembered; an old one stays while it has examples', async () => {
    const db = await fresh()
    let offered: DatasetSpec[] | null = [image('pets'), image('plants')]
    const ui = mount(db, () =>
      offered ? Promise.resolve(offered) : Promise.reject(new Error('offline')),
    )
    await ui.cards.refresh()
    await storeExamples(db, image('pets'), {
      features: pixels(1),
      labels: Uint8Array.of(1),
      source: 'camera',
    })
    offered = null
    await ui.cards.refresh()
    expect(ui.cards.shown().map((s) => s.name)).toEqual(['pets', 'plants'])
    // Back online, neither is offered: `pets` stays for its example, `plants` goes.
    offered = [image('parts')]
    const before = ui.card('pets')
    await ui.cards.refresh()
    expect(ui.cards.shown().map((s) => s.name)).toEqual(['parts', 'pets'])
    // The card was kept, not redrawn (a picture being cropped in it stays).
    expect(ui.card('pets')).toBe(before)
    expect(ui.card('plants')).toBeNull()
  })

  it('deletes one dataset’s examples after the owner confirms, and only those', async () => {
    const db = await fresh()
    const [pets, plants] = [image('pets'), image('plants')]
    const ui = mount(db, () => Promise.resolve([pets, plants]), [false, true])
    for (const spec of [pets, plants])
      await storeExamples(db, spec, {
        features: pixels(2),
        labels: Uint8Array.of(0, 1),
        source: 'imported',
      })
    await ui.cards.refresh()
    const remove = [...ui.card('pets')!.querySelectorAll('button')].find(
      (b) => b.textContent === 'Delete these examples',
    )!
    expect(remove.disabled).toBe(false)
    // "Keep them": nothing deleted.
    remove.click()
    await until(() => ui.asked.length === 1)
    expect(ui.asked[0]).toMatch(/^This removes the 2 examples of “pets” stored on this phone/)
    expect(await classCounts(db, pets)).toEqual([1, 1, 0])
    // "Delete": pets gone, plants kept.
    remove.click()
    const said = ui.card('pets')!.querySelector(':scope > .message')!
    await until(() => said.textContent !== '')
    expect(said.textContent).toBe('Deleted 2 examples of “pets”.')
    expect(await classCounts(db, pets)).toEqual([0, 0, 0])
    expect(await classCounts(db, plants)).toEqual([1, 1, 0])
    expect(ui.card('pets')!.querySelector('.summary')!.textContent).toBe('No examples yet.')
    expect(remove.disabled).toBe(true)
  })

  it('imports a CSV: columns by name, values scaled as declared; a bad file stores nothing', async () => {
    const db = await fresh()
    const scaled: DatasetSpec = {
      ...tabular,
      features: {
        kind: 'tabular',
        columns: [
          { name: 'age', scaling: { kind: 'minmax', min: 0, max: 100 } },
          { name: 'score', scaling: { kind: 'standard', mean: 10, std: 2 } },
        ],
      },
    }
    const ui = mount(db, () => Promise.resolve([scaled]))
    await ui.cards.refresh()
    const card = ui.card('answers')!
    const form = card.querySelector<HTMLFormElement>('form.add-csv')!
    const input = form.querySelector<HTMLInputElement>('input[type=file]')!
    const message = form.querySelector<HTMLElement>('.message')!
    const submit = async (text: string, name = 'answers.csv') => {
      const transfer = new DataTransfer()
      transfer.items.add(new File([text], name, { type: 'text/csv' }))
      input.files = transfer.files
      message.textContent = ''
      form.requestSubmit()
      await until(() => message.textContent !== '' && !message.textContent.startsWith('Reading'))
    }

    // Nothing chosen.
    form.requestSubmit()
    expect(message.textContent).toBe('Choose a CSV file first.')

    // A missing column and a bad value: named by row and column, nothing stored.
    await submit('age,label\n30,yes\n', 'short.csv')
    expect(message.getAttribute('role')).toBe('alert')
    expect(message.textContent).toContain('Stored nothing from short.csv:')
    expect(message.textContent).toContain('row 1, “score”: the header has no column "score"')
    await submit('id,score,age,label\n7,12,50,yes\n8,x,20,no\n', 'bad.csv')
    expect(message.textContent).toMatch(/row 3, “score”: /)
    expect(await classCounts(db, scaled)).toEqual([0, 0])

    // A good one: an extra column ignored, columns in another order, labels by class name.
    await submit('id,score,age,label\n7,12,50,yes\n8,8,20,no\n9,10,100,yes\n')
    expect(message.textContent).toBe('Stored 3 rows of answers.csv.')
    expect(ui.counts('answers')).toEqual([
      ['no', 1],
      ['yes', 2],
    ])
    const stored = await readExamples(db, 'answers')
    expect(stored.shape).toEqual([2])
    expect(stored.features).toBeInstanceOf(Float32Array)
    expect(stored.features).toEqual(Float32Array.of(0.5, 1, 0.2, -1, 1, 0))
    expect(Array.from(stored.labels)).toEqual([1, 0, 1])
  })

  it('refuses a label that names no class, storing nothing', async () => {
    const db = await fresh()
    await expect(
      storeExamples(db, image('pets'), {
        features: pixels(2),
        labels: Uint8Array.of(0, 3),
        source: 'imported',
      }),
    ).rejects.toThrow(/label 3 at 1 is not 0\.\.2/)
    expect(await classCounts(db, image('pets'))).toEqual([0, 0, 0])
  })
})

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 20))
  if (!check()) throw new Error('timed out')
}
