import { afterEach, describe, expect, it } from 'vitest'
import type { DevicePrivacyView, DeviceTaskView } from '../../../shared/protocol/index.ts'
import { readLedger } from '../privacy/ledger.ts'
import {
  type ConditionSource,
  createConsentStore,
  mountTasksScreen,
  NO_CONDITIONS,
  unmetConditions,
  watchConditions,
} from './index.ts'
import { deviceState, networkUnmetered } from './conditions.ts'
import { testDatabases } from '../storage/testing.ts'
import { type PollenDatabase, STORES } from '../storage/index.ts'
import { endedLabel, endedText, formatWhen } from './describe.ts'

const task = (id: string, purpose = 'read digits'): DeviceTaskView => ({
  id,
  name: `task ${id}`,
  purpose,
  datasetSpec: null,
  status: 'running',
  endedAt: null,
  mode: 'sync',
  async: null,
  accuracy: null,
  dataset: 'mnist',
  model: { preset: 'mnist-2nn', parameters: 199_210 },
  updateBytes: 796_840,
  rounds: { total: 3, committed: 0, deadlineSeconds: 120 },
  privacy: { differentialPrivacy: null, secureAggregation: false },
})

const { open: fresh } = testDatabases('pollen-tasks-test')
afterEach(() => {
  document.body.replaceChildren()
})

describe('the consent store', () => {
  it('joins with the purpose agreed to, pauses, resumes, and withdrawing deletes', async () => {
    const db = await fresh()
    let clock = 100
    const consents = createConsentStore({ db, now: () => clock })
    let changes = 0
    consents.subscribe(() => changes++)
    await consents.join(task('a', 'why <b>a</b>'))
    await consents.join(task('b'))
    expect(await consents.get('a')).toEqual({
      taskId: 'a',
      taskName: 'task a',
      dataset: 'mnist',
      purpose: 'why <b>a</b>',
      state: 'granted',
      conditions: NO_CONDITIONS,
      decidedAt: 100,
    })
    clock = 200
    await consents.pause('a')
    expect((await consents.granted()).map((c) => c.taskId)).toEqual(['b'])
    await consents.resume('a')
    expect((await consents.get('a'))?.decidedAt).toBe(200)
    const conditions = { ...NO_CONDITIONS, onlyWhileCharging: true }
    await consents.setConditions('a', conditions)
    // Joining again (a changed purpose) keeps the conditions set.
    await consents.join(task('a', 'a new purpose'))
    expect(await consents.get('a')).toMatchObject({ purpose: 'a new purpose', conditions })
    const residual = { round: 1, tensors: [], savedAt: 1 }
    await db.put(STORES.residuals, { taskId: 'a', ...residual })
    await db.put(STORES.residuals, { taskId: 'b', ...residual })
    await consents.withdraw('a')
    expect(await consents.get('a')).toBeUndefined()
    expect(await db.getAllKeys(STORES.residuals)).toEqual(['b'])
    expect((await consents.granted()).map((c) => c.taskId)).toEqual(['b'])
    expect(await consents.pause('a')).toBeUndefined()
    expect(changes).toBe(7)
  })
})

describe('conditions', () => {
  const all = { onlyWhileCharging: true, onlyOnUnmeteredNetwork: true, onlyWhileVisible: true }

  it('hold when the signals say so, and skip a signal the browser lacks', () => {
    expect(unmetConditions(all, { charging: true, unmetered: true, visible: true })).toEqual([])
    expect(unmetConditions(all, { charging: false, unmetered: false, visible: false })).toEqual([
      'the phone is not charging',
      'the network may be metered',
      'Pollen is not on screen',
    ])
    expect(unmetConditions(all, { charging: null, unmetered: null, visible: true })).toEqual([])
    expect(
      unmetConditions(NO_CONDITIONS, { charging: false, unmetered: false, visible: false }),
    ).toEqual([])
  })

  it('read the network type where there is one', () => {
    const connection = (type?: string, saveData = false) =>
      Object.assign(new EventTarget(), { type, saveData })
    expect(networkUnmetered(undefined)).toBeNull()
    expect(networkUnmetered(connection())).toBeNull()
    expect(networkUnmetered(connection('wifi'))).toBe(true)
    expect(networkUnmetered(connection('ethernet'))).toBe(true)
    expect(networkUnmetered(connection('cellular'))).toBe(false)
    expect(networkUnmetered(connection('wifi', true))).toBe(false)
    expect(networkUnmetered(connection('unknown'))).toBeNull()
  })

  it("tells the coordinator what the phone is doing, saying nothing the browser doesn't say", () => {
    expect(deviceState({ charging: true, unmetered: true, visible: true }, 4)).toEqual({
      charging: true,
      network: 'unmetered',
      memoryMB: 4096,
    })
    expect(deviceState({ charging: false, unmetered: false, visible: true }, 0)).toEqual({
      charging: false,
      network: 'metered',
    })
    // By default, what this browser says (Chromium: deviceMemory, in GB).
    const memory = (navigator as { deviceMemory?: number }).deviceMemory
    expect(deviceState({ charging: null, unmetered: null, visible: true }).memoryMB).toBe(
      memory ? memory * 1024 : undefined,
    )
    expect(deviceState({ charging: null, unmetered: null, visible: false }, 0)).toEqual({
      network: 'unknown',
    })
  })

  it('watch battery, network and visibility, and call back on changes', async () => {
    const battery = Object.assign(new EventTarget(), { charging: false })
    const connection = Object.assign(new EventTarget(), { type: 'cellular' })
    const document = Object.assign(new EventTarget(), { visibilityState: 'visible' })
    const source = await watchConditions({
      navigator: { getBattery: () => Promise.resolve(battery), connection } as never,
      document: document as never,
    })
    expect(source.read()).toEqual({ charging: false, unmetered: false, visible: true })
    let calls = 0
    const stop = source.subscribe(() => calls++)
    battery.charging = true
    battery.dispatchEvent(new Event('chargingchange'))
    connection.type = 'wifi'
    connection.dispatchEvent(new Event('change'))
    document.visibilityState = 'hidden'
    document.dispatchEvent(new Event('visibilitychange'))
    expect(calls).toBe(3)
    expect(source.read()).toEqual({ charging: true, unmetered: true, visible: false })
    stop()
    battery.dispatchEvent(new Event('chargingchange'))
    expect(calls).toBe(3)

    const bare = await watchConditions({ navigator: {} as never, document: document as never })
    expect(bare.read()).toEqual({ charging: null, unmetered: null, visible: false })
  })
})

const DP = {
  clipNorm: 1,
  noiseMultiplier: 1.1,
  delta: 1e-5,
  epsilonBudget: 8,
  epsilonSpent: 2,
} as const
const central: DevicePrivacyView = {
  differentialPrivacy: { ...DP, mode: 'central' },
  secureAggregation: false,
}
const distributed: DevicePrivacyView = {
  differentialPrivacy: { ...DP, mode: 'distributed' },
  secureAggregation: true,
}
const sumsOnly: DevicePrivacyView = { differentialPrivacy: null, secureAggregation: true }
const none: DevicePrivacyView = { differentialPrivacy: null, secureAggregation: false }
const nonsense = {
  differentialPrivacy: { ...DP, mode: 'central', epsilonSpent: -1 },
  secureAggregation: false,
} as DevicePrivacyView

const HOSTILE = '<img src=x onerror="window.hacked=1"><script>window.hacked=2</script>'
const offer = (id: string, privacy: DevicePrivacyView, name = `task ${id}`): DeviceTaskView => ({
  ...task(id),
  name,
  privacy,
})

const always: ConditionSource = {
  read: () => ({ charging: null, unmetered: null, visible: true }),
  subscribe: () => () => {},
}

/** The tasks screen over the shell's markup for it, showing `offered`. */
async function tasksScreen(offered: DeviceTaskView[] | Error, db?: PollenDatabase) {
  db ??= await fresh()
  const list = document.createElement('ul')
  list.id = 'task-list'
  const message = document.createElement('p')
  message.id = 'tasks-message'
  document.body.append(message, list)
  const consents = createConsentStore({ db, now: () => 9 })
  const screen = mountTasksScreen({
    consents,
    conditions: always,
    offered: () => (offered instanceof Error ? Promise.reject(offered) : Promise.resolve(offered)),
  })
  await screen.refresh()
  const card = (id: string) => list.querySelector<HTMLLIElement>(`li[data-task-id="${id}"]`)!
  /** The card's privacy terms, one sentence a line. */
  const privacy = (id: string) =>
    [...card(id).querySelectorAll('dd.privacy')].map((dd) => dd.textContent)
  return { db, list, card, privacy }
}

describe('the tasks screen', () => {
  it("shows each task's privacy terms in words an owner can weigh", async () => {
    const { privacy } = await tasksScreen([
      offer('central', central),
      offer('distributed', distributed),
      offer('sums', sumsOnly),
      offer('none', none),
      offer('nonsense', nonsense),
    ])
    expect(privacy('central')).toEqual([
      'Differential privacy: each update is clipped (its size capped at 1) on this phone, and ' +
        "the coordinator adds random noise 1.1 times that cap to the sum of the round's updates.",
      'Privacy loss budget: ε = 8 at δ = 0.00001; so far the task has spent ε = 2. The smaller ' +
        "ε, the less the model can reveal about any one phone's examples; the task stops before " +
        'it would spend more.',
      "No secure aggregation: the coordinator sees this phone's clipped update by itself, " +
        'before it adds the noise.',
    ])
    expect(privacy('distributed')).toEqual([
      'Differential privacy: each update is clipped (its size capped at 1), and this phone ' +
        'adds its share of the random noise (in all, noise 1.1 times that cap) before sending it.',
      expect.stringContaining('ε = 8 at δ = 0.00001; so far the task has spent ε = 2.'),
      "Secure aggregation: the coordinator can only see the sum of many phones' updates, " +
        "never this phone's alone (only how many examples and steps it used).",
    ])
    expect(privacy('sums')).toEqual([
      "Secure aggregation: the coordinator can only see the sum of many phones' updates, " +
        "never this phone's alone (only how many examples and steps it used).",
      'No differential privacy: the sum and the model are not noised, and no ε bounds what ' +
        "they reveal about this phone's examples.",
    ])
    expect(privacy('none')).toEqual([
      'None: no differential privacy and no secure aggregation. The coordinator sees this ' +
        "phone's weight update by itself, not only mixed with others.",
    ])
    expect(privacy('nonsense')).toEqual([
      "The coordinator described this task's differential privacy with values that do not make " +
        "sense, so Pollen cannot say what it protects. Take it as none: the coordinator may see this phone's update.",
    ])
  })

  it('keeps hostile strings from the coordinator as text', async () => {
    const hostileDp = {
      differentialPrivacy: { ...DP, mode: HOSTILE },
      secureAggregation: HOSTILE,
    } as unknown as DevicePrivacyView
    const { list, card, privacy } = await tasksScreen([offer('h', hostileDp, HOSTILE)])
    expect(card('h').querySelector('h2')?.textContent).toBe(HOSTILE)
    expect(list.querySelector('img, script')).toBeNull()
    expect((window as { hacked?: number }).hacked).toBeUndefined()
    // An unknown mode is not taken at its word; a secure aggregation that is not `true` is none.
    expect(privacy('h')).toEqual([expect.stringContaining('values that do not make sense')])
  })

  it('records the task in the privacy ledger when the owner confirms joining it', async () => {
    const { db, card } = await tasksScreen([offer('a', distributed, HOSTILE)])
    buttonOf(card('a'), 'Join').click()
    const dialog = await confirmation()
    buttonOf(dialog, 'Join and train').click()
    await expect.poll(async () => (await readLedger(db)).length).toBe(1)
    expect(await readLedger(db)).toEqual([
      {
        taskId: 'a',
        taskName: HOSTILE,
        joinedAt: 9,
        rounds: 0,
        lastContributionAt: null,
        differentialPrivacy: {
          epsilonSpent: 2,
          epsilonBudget: 8,
          delta: 1e-5,
          mode: 'distributed',
        },
        secureAggregation: true,
        updatedAt: 9,
      },
    ])
  })
})

/** The button of `root` whose text is `text`. */
function buttonOf(root: ParentNode, text: string): HTMLButtonElement {
  const found = [...root.querySelectorAll('button')].find((b) => b.textContent === text)
  if (!found) throw new Error(`no button “${text}”`)
  return found
}
const buttonsOf = (root: ParentNode) =>
  [...root.querySelectorAll('button')].map((b) => b.textContent)

/** The modal dialog open now, once it is. */
async function confirmation(): Promise<HTMLDialogElement> {
  await expect.poll(() => document.querySelector('dialog[open]')).not.toBeNull()
  return document.querySelector<HTMLDialogElement>('dialog[open]')!
}

describe('joining', () => {
  it('shows the terms and asks to confirm: Cancel agrees to nothing, confirming joins', async () => {
    const { db, card } = await tasksScreen([
      { ...offer('a', central, 'Digits'), purpose: 'Read <b>digits</b>.' },
    ])
    buttonOf(card('a'), 'Join').click()
    const dialog = await confirmation()
    // Named after the task, described by what it asks; modal, so nothing else is pressed first.
    const title = document.getElementById(dialog.getAttribute('aria-labelledby')!)
    expect(title?.textContent).toBe('Join “Digits”?')
    expect(document.getElementById(dialog.getAttribute('aria-describedby')!)?.textContent).toBe(
      'Read what you agree to. Nothing trains for this task until you confirm.',
    )
    expect(dialog.matches(':modal')).toBe(true)
    const terms = [...dialog.querySelectorAll('dt')].map((dt) => dt.textContent)
    expect(terms).toEqual([
      'Why they ask',
      'What leaves this phone',
      'Your data it trains on',
      'Privacy',
    ])
    expect(dialog.querySelector('.purpose')?.textContent).toBe('Read <b>digits</b>.')
    expect(dialog.querySelector('b')).toBeNull()
    expect(dialog.textContent).toContain(
      'A weight update of 797 kB per round, never your examples.',
    )
    expect(dialog.textContent).toContain('Differential privacy: each update is clipped')
    expect(buttonsOf(dialog)).toEqual(['Cancel', 'Join and train'])

    buttonOf(dialog, 'Cancel').click()
    await expect.poll(() => document.querySelector('dialog')).toBeNull()
    expect(await readLedger(db)).toEqual([])
    expect(card('a').querySelector('.state')?.textContent).toBe('Not joined')
    expect(buttonOf(card('a'), 'Join').disabled).toBe(false)

    buttonOf(card('a'), 'Join').click()
    buttonOf(await confirmation(), 'Join and train').click()
    await expect.poll(() => card('a').querySelector('.state')?.textContent).toBe('Joined')
    expect((await readLedger(db)).map((r) => r.taskId)).toEqual(['a'])
  })

  it('never offers Join for a task without a purpose', async () => {
    const { card } = await tasksScreen([{ ...task('p'), purpose: '  ' }, task('q')])
    expect(buttonsOf(card('p'))).toEqual([])
    expect(card('p').textContent).toContain(
      'Pollen does not let phones join a task without a purpose',
    )
    expect(buttonsOf(card('q'))).toEqual(['Join'])
  })
})

const ENDED_AT = '2026-12-01T21:40:00.000Z'
const completed = (id: string): DeviceTaskView => ({
  ...task(id),
  status: 'completed',
  endedAt: ENDED_AT,
  accuracy: 0.9123,
  rounds: { total: 3, committed: 3, deadlineSeconds: 120 },
})

describe('ended tasks', () => {
  it('shows a completed task joined as ended, with its final accuracy, and no controls', async () => {
    const db = await fresh()
    const consents = createConsentStore({ db, now: () => 9 })
    await consents.join(task('done'))
    await consents.join(task('gone'))
    const { card, list } = await tasksScreen([completed('done'), completed('never')], db)
    const done = card('done')
    expect(done.querySelector('.state')?.textContent).toBe('Completed')
    expect(done.querySelector('.outcome-text')?.textContent).toBe(
      `Completed on ${formatWhen(ENDED_AT)}, after 3 of 3 rounds. Final held-out accuracy: 91.2%.`,
    )
    // Nothing left to decide: no Join, Pause, Withdraw, nor conditions; its model can be tried.
    expect(buttonsOf(done)).toEqual(['Remove from this list'])
    expect(done.querySelector('fieldset')).toBeNull()
    expect(done.querySelector('a')?.getAttribute('href')).toBe('#try')
    // An ended task this phone never joined is not shown at all.
    expect(list.querySelector('li[data-task-id="never"]')).toBeNull()
    // One the coordinator no longer lists was removed, and the card says so.
    const gone = card('gone')
    expect(gone.querySelector('.state')?.textContent).toBe('Removed')
    expect(gone.querySelector('.outcome-text')?.textContent).toBe(
      'The data scientist removed this task from the coordinator. Nothing trains for it, and ' +
        'its model can no longer be tried.',
    )
    expect(buttonsOf(gone)).toEqual(['Remove from this list'])
    expect(gone.querySelector('fieldset')).toBeNull()

    // Removing it from the list keeps it in the privacy ledger.
    buttonOf(gone, 'Remove from this list').click()
    await expect.poll(() => list.querySelector('li[data-task-id="gone"]')).toBeNull()
    expect((await readLedger(db)).map((r) => r.taskId).sort()).toEqual(['done', 'gone'])
  })

  it('says how a task stopped early or failed', () => {
    const stopped = { ...completed('s'), stoppedReason: 'the next round would spend ε to 8.3' }
    expect(endedLabel(stopped)).toBe('Stopped early')
    expect(endedText({ ...stopped, rounds: { ...stopped.rounds, committed: 2 } })).toBe(
      `Stopped early on ${formatWhen(ENDED_AT)}, after 2 of 3 rounds: one more would have ` +
        'spent more privacy than its budget allows. Final held-out accuracy: 91.2%.',
    )
    const failed = { ...completed('f'), status: 'failed' as const, accuracy: null }
    expect(endedLabel(failed)).toBe('Failed')
    expect(endedText(failed)).toBe(
      `Failed on ${formatWhen(ENDED_AT)}, after 3 of 3 rounds: the coordinator could not go on ` +
        'with it. Its final model was not measured on a test set.',
    )
    expect(endedText(task('r'))).toBeUndefined()
  })

  it('keeps the controls of a task joined while the coordinator cannot be reached', async () => {
    const db = await fresh()
    await createConsentStore({ db, now: () => 9 }).join(task('away'))
    const { card } = await tasksScreen(new Error('Failed to fetch'), db)
    expect(card('away').querySelector('.state')?.textContent).toBe('Joined')
    expect(buttonsOf(card('away'))).toEqual(['Pause', 'Withdraw'])
    expect(card('away').textContent).toContain('The coordinator cannot be reached')
  })
})

describe('an async (FedBuff) task', () => {
  it('is shown by its model versions, buffer, staleness and concurrency, not rounds', async () => {
    const fedbuff: DeviceTaskView = {
      ...task('a'),
      mode: 'async',
      async: { bufferSize: 10, maxStaleness: 5, concurrency: 20 },
      rounds: { total: 20, committed: 3, deadlineSeconds: 120 },
      accuracy: 0.5,
    }
    const { card } = await tasksScreen([fedbuff])
    const facts = [...card('a').querySelectorAll('dt')].map((dt) => [
      dt.textContent,
      dt.nextElementSibling?.textContent,
    ])
    expect(facts).toEqual([
      [
        'What leaves this phone',
        'A weight update of 797 kB each time it trains, never your examples.',
      ],
      ['Model', 'mnist-2nn, 199,210 parameters'],
      ['Model versions', '3 of 20 committed, with no rounds or deadlines'],
      ['New version', 'every 10 updates from phones, as they arrive'],
      ['Staleness allowed', 'an update counts if trained on a version at most 5 versions old'],
      ['Phones at once', 'up to 20 phones training at the same time'],
      ['Held-out accuracy', '50.0%, on the coordinator’s test set'],
      ['Your data it trains on', 'Your “mnist” examples, on this phone'],
      ['Privacy', expect.stringContaining('None: no differential privacy')],
    ])
    expect(card('a').textContent).not.toMatch(/per round|to answer each|deadline [0-9]/i)
  })
})
