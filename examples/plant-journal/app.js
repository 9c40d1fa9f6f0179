// A plant journal that keeps its entries in this browser (localStorage) and contributes them to
// a Pollen dataset through the embeddable client: the module is imported from the coordinator,
// another origin. ?coordinator=URL&dataset=NAME choose them (defaults below).
const params = new URLSearchParams(location.search)
const COORDINATOR = params.get('coordinator') ?? 'http://localhost:8080'
const DATASET = params.get('dataset') ?? 'plant-journal'
const JOURNAL_KEY = 'plant-journal-entries'

const $ = (id) => document.getElementById(id)
const say = (id, text) => ($(id).textContent = text)

/** The app's own data: entries, each marked once shared with Pollen. */
const journal = {
  load: () => JSON.parse(localStorage.getItem(JOURNAL_KEY) ?? '[]'),
  save: (entries) => localStorage.setItem(JOURNAL_KEY, JSON.stringify(entries)),
}

function showJournal() {
  const entries = journal.load()
  const unshared = entries.filter((e) => !e.shared).length
  say('journal', `${entries.length} entries in your journal, ${unshared} not shared with Pollen.`)
}

/** A line in the training log. */
function log(text) {
  const item = document.createElement('li')
  item.textContent = text
  $('log').append(item)
}

/** Pollen's events in words. */
function onEvent(event) {
  switch (event.type) {
    case 'started':
      return log(`Training worker started on ${event.backend}.`)
    case 'enrolled':
      return log('This browser enrolled with the coordinator.')
    case 'assigned':
      return log(`Round ${event.round}: training…`)
    case 'progress':
      return say(
        'status',
        `Training: step ${event.step} of ${event.totalSteps}, loss ${event.loss.toFixed(3)}`,
      )
    case 'trained':
      return log(
        `Round ${event.round}: trained on ${event.examples} examples in ${Math.round(event.ms)} ms.`,
      )
    case 'uploaded':
      return log(`Round ${event.round}: update ${event.answer.type} (${event.bytes} bytes sent).`)
    case 'retry':
      return say('status', `Waiting ${Math.round(event.seconds)} s: ${event.reason}`)
    case 'done':
    case 'idle':
      return say('status', `Nothing to train now: ${event.reason}`)
    case 'error':
      return log(`Error: ${event.message}`)
    case 'stopped':
      return say('status', 'Stopped.')
  }
}

async function showCounts(pollen) {
  const { examples, byClass } = await pollen.counts()
  const parts = Object.entries(byClass).map(([name, n]) => `${name}: ${n}`)
  say('counts', `Pollen holds ${examples} of your examples (${parts.join(', ')}).`)
}

/** Each task on offer with its terms, and Agree or Withdraw. */
async function showTasks(pollen) {
  const box = $('tasks')
  box.replaceChildren()
  const tasks = await pollen.tasks()
  if (tasks.length === 0) box.textContent = 'No task trains on this dataset yet.'
  for (const task of tasks) {
    const card = document.createElement('article')
    card.className = 'task'
    const add = (tag, text) => {
      const el = document.createElement(tag)
      el.textContent = text
      card.append(el)
      return el
    }
    add('h3', task.name)
    add('p', `Why: ${task.terms.purpose}`)
    add('p', `What leaves this browser: ${task.terms.sent}`)
    for (const [term, words] of task.terms.rounds) add('p', `${term}: ${words}`)
    for (const line of task.terms.privacy) add('p', line)
    const button = add('button', task.consented ? 'Withdraw' : 'Agree and join')
    button.type = 'button'
    button.disabled = !task.joinable && !task.consented
    button.addEventListener('click', async () => {
      await (task.consented ? pollen.withdraw(task.id) : pollen.consent(task.id))
      await showTasks(pollen)
    })
    box.append(card)
  }
}

function fillClasses(classes) {
  const select = document.querySelector('select[name=state]')
  for (const name of classes) select.append(new Option(name, name))
}

$('entry').addEventListener('submit', (event) => {
  event.preventDefault()
  const form = new FormData(event.target)
  const entries = journal.load()
  entries.push({
    moisture: Number(form.get('moisture')),
    temperature: Number(form.get('temperature')),
    light: Number(form.get('light')),
    state: String(form.get('state')),
    shared: false,
  })
  journal.save(entries)
  showJournal()
})
showJournal()

try {
  const { connect } = await import(new URL('/embed/pollen.js', COORDINATOR).href)
  const pollen = await connect({
    coordinator: COORDINATOR,
    dataset: DATASET,
    label: 'plant journal',
    idleSeconds: 5,
    onEvent,
  })
  fillClasses(pollen.dataset.classes)
  say('status', `Connected to ${pollen.coordinator}, dataset “${pollen.dataset.name}”.`)
  for (const id of ['share', 'forget', 'train', 'stop']) $(id).disabled = false

  $('share').addEventListener('click', async () => {
    const entries = journal.load()
    const fresh = entries.filter((e) => !e.shared)
    if (fresh.length === 0) return say('status', 'Every entry is shared already.')
    try {
      await pollen.addExamples(
        fresh.map((e) => ({
          features: { moisture: e.moisture, temperature: e.temperature, light: e.light },
          label: e.state,
        })),
      )
      for (const e of fresh) e.shared = true
      journal.save(entries)
      showJournal()
    } catch (error) {
      say('status', `Pollen refused the entries: ${error.message}`)
    }
    await showCounts(pollen)
  })
  $('forget').addEventListener('click', async () => {
    await pollen.deleteExamples()
    journal.save(journal.load().map((e) => ({ ...e, shared: false })))
    showJournal()
    await showCounts(pollen)
  })
  $('train').addEventListener('click', () => {
    pollen.start()
    say('status', 'Looking for work…')
  })
  $('stop').addEventListener('click', () => void pollen.stop())
  await showCounts(pollen)
  await showTasks(pollen)
} catch (error) {
  say('status', `Pollen is not available: ${error.message}`)
}
