import type { ModelSpecWire } from '../../../shared/protocol/device.ts'
import {
  type DBSchema,
  type IDBPDatabase,
  type IDBPTransaction,
  openDB,
  type StoreNames,
} from 'idb'
import type {
  Assignment,
  Backend,
  DevicePrivacyView,
  DownloadEncoding,
  UploadOutcome,
} from '../../../shared/protocol/index.ts'
import type { TrainCheckpoint } from '../../../shared/training/index.ts'
import type { Codec, NamedTensor } from '../../../shared/tensors/index.ts'
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'

/**
 * Everything the phone keeps, in one IndexedDB database typed by one schema: examples, consent
 * (tasks/), contribution history (history/), settings (the demo shard, the enrolment), the
 * models and checkpoints of on-device training, updates waiting for the network (outbox/), the
 * training speed measured on each backend, and the privacy ledger (privacy/).
 */
export const DB_NAME = 'pollen'

/** Store names, defined once. */
export const STORES = {
  examples: 'examples',
  models: 'models',
  checkpoints: 'checkpoints',
  history: 'history',
  settings: 'settings',
  consent: 'consent',
  uploads: 'uploads',
  speed: 'speed',
  ledger: 'ledger',
  residuals: 'residuals',
} as const

/** Index names, defined once. */
export const INDEXES = {
  byDataset: 'by-dataset',
  byDatasetLabel: 'by-dataset-label',
  byDatasetSource: 'by-dataset-source',
  byTask: 'by-task',
} as const

/**
 * Where an example came from: the bundled demo digits, drawn on the phone, imported from files,
 * or photographed with the camera.
 */
export type ExampleSource = 'demo' | 'drawn' | 'imported' | 'camera'

/** One labelled example of its dataset's shape. */
export interface ExampleRecord {
  /** Assigned by the store. */
  id?: number
  /** The dataset name a task asks for, e.g. `mnist`. */
  dataset: string
  /** Index of the dataset's class, 0..255. */
  label: number
  /** [height, width, channels] for images, [columns] for tabular; the same for all of a dataset. */
  shape: number[]
  /** shapeSize(shape) values, row-major: image bytes 0..255, or scaled float32 tabular values. */
  features: Uint8Array | Float32Array
  source: ExampleSource
  /** ms since the epoch */
  addedAt: number
}

/** An example as versions 1 to 4 stored it: a 28x28 grayscale digit. */
interface LegacyExampleRecord extends Omit<ExampleRecord, 'shape' | 'features'> {
  pixels: Uint8Array
}

/** A model downloaded by content hash: the tensor container bytes as the coordinator sent them. */
export interface ModelRecord {
  hash: string
  bytes: ArrayBuffer
  taskId: string
  storedAt: number
  /** Kept by "try the model", so that it can build the model offline. */
  spec?: ModelSpecWire
  taskName?: string
}

/**
 * The round's model as it came: the bytes downloaded for it (0 where the phone held it) and
 * their encoding (absent where nothing came). Both absent in what was kept before (issue 18).
 */
export interface RoundDownload {
  bytesDown?: number
  downloadEncoding?: DownloadEncoding
}

/** What a round ending now records of its download: 0 bytes where none was told. */
export const roundDownload = ({ bytesDown, downloadEncoding }: RoundDownload): RoundDownload => ({
  bytesDown: bytesDown ?? 0,
  ...(downloadEncoding ? { downloadEncoding } : {}),
})

/**
 * Local training in progress, saved every few batches so a reload resumes the same round while
 * its deadline holds. One per task: a new round's work replaces the last one's.
 */
export interface CheckpointRecord extends RoundDownload {
  taskId: string
  taskName: string
  /** The round's work as the coordinator assigned it (model hash, plan, deadline, upload URL). */
  assignment: Assignment
  /** Examples of the dataset when training started: if that changed, the checkpoint is void. */
  exampleCount: number
  checkpoint: TrainCheckpoint
  backend: Backend
  startedAt: number
  savedAt: number
}

/** A trained update waiting to be sent (offline, or the coordinator unreachable). */
export interface PendingUpload extends RoundDownload {
  /** `${taskId}/${round}` */
  key: string
  taskId: string
  taskName: string
  round: number
  uploadUrl: string
  /** ms since the epoch; past it the coordinator would answer `late`, so it is not sent. */
  deadlineAt: number
  /** The update container, as it goes on the wire. */
  body: ArrayBuffer
  /** Its codec (absent: queued before codecs were picked, float32). */
  codec?: Codec
  examples: number
  steps: number
  backend: Backend
  startedAt: number
  queuedAt: number
  /** Deliveries tried so far. */
  attempts: number
  /** A page or the service worker is sending it until then (ms since the epoch). */
  claimedUntil: number
  /** Why the last try did not get an answer. */
  lastError?: string
}

/**
 * How a round ended for this phone: the coordinator's answer to the upload, or `failed` (the
 * work or the upload broke), `stopped` (the owner withdrew, paused, or a condition stopped
 * holding before the upload) or `expired` (the deadline passed while the update waited for the
 * network).
 */
export type HistoryOutcome = UploadOutcome | 'failed' | 'stopped' | 'expired'

/** One round this phone took part in. */
export interface HistoryRecord extends RoundDownload {
  id?: number
  taskId: string
  taskName: string
  round: number
  outcome: HistoryOutcome
  /** What went wrong, for `failed` and `stopped` (and the coordinator's message otherwise). */
  detail?: string
  examples: number
  steps: number
  bytesSent: number
  /** The codec the update went in (absent: float32 from before codecs, or a secure round's). */
  codec?: Codec
  backend: Backend
  startedAt: number
  finishedAt: number
}

/**
 * What this phone's last top-k upload for a task kept back (error feedback), added to its next
 * update while at most 10 rounds behind (client/device/residuals.ts). One per task, replaced.
 */
export interface ResidualRecord {
  taskId: string
  /** The round the residual was made in. */
  round: number
  tensors: NamedTensor[]
  savedAt: number
}

/** Conditions the owner puts on training. */
export interface TrainingConditions {
  onlyWhileCharging: boolean
  onlyOnUnmeteredNetwork: boolean
  onlyWhileVisible: boolean
}

/** The owner's decision about one task: opted in, paused, or withdrawn. */
export interface ConsentRecord {
  taskId: string
  taskName: string
  /** The dataset the task trains on: which stored examples the owner lends it. */
  dataset: string
  /** The task's purpose as the owner saw it when deciding. */
  purpose: string
  state: 'granted' | 'paused' | 'withdrawn'
  conditions: TrainingConditions
  decidedAt: number
}

/** The demo shard stored by "Load demo data". */
export interface DemoSetting {
  key: 'demo'
  dataset: string
  kind: 'iid' | 'two-digits'
  seed: number
  count: number
  /** Labels present in the shard, ascending. */
  labels: number[]
  loadedAt: number
}

/** The device's enrolment with a coordinator (issued token), for the protocol work. */
export interface DeviceSetting {
  key: 'device'
  deviceId: string
  token: string
  enrolledAt: number
}

/**
 * The training speed this phone measured on one backend, reported at check-in. Measured again
 * when what it was measured with changes (see client/app/contribute/speed.ts).
 */
export interface SpeedRecord {
  backend: Backend
  /** What else sets the speed on that backend: wasm's SIMD and threads, the browser's version. */
  variant: string
  /** The model timed, as JSON of its spec. */
  model: string
  examplesPerSecond: number
  measuredAt: number
}

/** A task's differential privacy as the ledger keeps it: what was spent, of what, at which δ. */
export interface LedgerPrivacy {
  /** ε the task has spent so far, at `delta`, as the coordinator last reported it. */
  epsilonSpent: number
  /** ε the task stops at. */
  epsilonBudget: number
  delta: number
  mode: NonNullable<DevicePrivacyView['differentialPrivacy']>['mode']
}

/**
 * The privacy ledger: one record per task this phone joined, kept after a withdrawal (what was
 * spent stays spent), with the rounds it contributed and the task's privacy terms.
 */
export interface LedgerRecord {
  taskId: string
  taskName: string
  /** When this phone first joined the task (ms since the epoch). */
  joinedAt: number
  /** Updates this phone contributed that the coordinator accepted. */
  rounds: number
  /** When the coordinator last accepted one of them; null: none yet. */
  lastContributionAt: number | null
  /** null: the task's updates are not clipped or noised, so no ε bounds what they reveal. */
  differentialPrivacy: LedgerPrivacy | null
  /** The coordinator sees only sums of many phones' updates. */
  secureAggregation: boolean
  /** When the record last changed or took the coordinator's word. */
  updatedAt: number
}

/** The datasets of the tasks this phone was offered (storage/datasets.ts). */
export interface DatasetsSetting {
  key: 'datasets'
  specs: DatasetSpec[]
  updatedAt: number
}

export type SettingRecord = DemoSetting | DeviceSetting | DatasetsSetting
export type SettingKey = SettingRecord['key']

export interface PollenDB extends DBSchema {
  examples: {
    key: number
    value: ExampleRecord
    indexes: {
      'by-dataset': string
      'by-dataset-label': [string, number]
      'by-dataset-source': [string, ExampleSource]
    }
  }
  models: { key: string; value: ModelRecord }
  checkpoints: { key: string; value: CheckpointRecord }
  history: { key: number; value: HistoryRecord; indexes: { 'by-task': string } }
  settings: { key: SettingKey; value: SettingRecord }
  consent: { key: string; value: ConsentRecord }
  uploads: { key: string; value: PendingUpload }
  speed: { key: Backend; value: SpeedRecord }
  ledger: { key: string; value: LedgerRecord }
  residuals: { key: string; value: ResidualRecord }
}

export type PollenDatabase = IDBPDatabase<PollenDB>

type UpgradeTransaction = IDBPTransaction<PollenDB, StoreNames<PollenDB>[], 'versionchange'>

/**
 * The schema's versions, in order: upgrade n takes a database from version n to n + 1, and a
 * database at version v gets the upgrades from v on. Append; never edit one that shipped.
 */
const UPGRADES: readonly ((db: IDBPDatabase<PollenDB>, tx: UpgradeTransaction) => void)[] = [
  (db) => {
    const examples = db.createObjectStore(STORES.examples, {
      keyPath: 'id',
      autoIncrement: true,
    })
    examples.createIndex(INDEXES.byDataset, 'dataset')
    examples.createIndex(INDEXES.byDatasetLabel, ['dataset', 'label'])
    examples.createIndex(INDEXES.byDatasetSource, ['dataset', 'source'])
    db.createObjectStore(STORES.models, { keyPath: 'hash' })
    db.createObjectStore(STORES.checkpoints, { keyPath: 'taskId' })
    const history = db.createObjectStore(STORES.history, {
      keyPath: 'id',
      autoIncrement: true,
    })
    history.createIndex(INDEXES.byTask, 'taskId')
    db.createObjectStore(STORES.settings, { keyPath: 'key' })
    db.createObjectStore(STORES.consent, { keyPath: 'taskId' })
  },
  (db) => {
    // Version 1 never wrote a checkpoint; its record shape changed, so start the store anew.
    db.deleteObjectStore(STORES.checkpoints)
    db.createObjectStore(STORES.checkpoints, { keyPath: 'taskId' })
    db.createObjectStore(STORES.uploads, { keyPath: 'key' })
  },
  (db) => {
    db.createObjectStore(STORES.speed, { keyPath: 'backend' })
  },
  (db, tx) => {
    db.createObjectStore(STORES.ledger, { keyPath: 'taskId' })
    // A request that fails aborts the upgrade, and the open with it: nothing is half-done.
    void seedLedger(tx, Date.now()).catch(() => {})
  },
  (_db, tx) => {
    // Examples carry their shape: the digits stored before were all 28x28x1 bytes.
    void shapeLegacyExamples(tx).catch(() => {})
  },
  (db) => {
    db.createObjectStore(STORES.residuals, { keyPath: 'taskId' })
  },
]

/** Rewrites every example stored as `pixels` to `shape` [28, 28, 1] and `features`. */
async function shapeLegacyExamples(tx: UpgradeTransaction): Promise<void> {
  let cursor = await tx.objectStore(STORES.examples).openCursor()
  while (cursor) {
    const value = cursor.value as ExampleRecord | LegacyExampleRecord
    if ('pixels' in value) {
      const { pixels, ...rest } = value
      await cursor.update({ ...rest, shape: [28, 28, 1], features: pixels })
    }
    cursor = await cursor.continue()
  }
}

/**
 * The tasks this phone joined or contributed to before the ledger existed, from the consent
 * store and the history: their accepted rounds counted, their privacy terms unknown until the
 * next task list, so taken as the weakest (no differential privacy, no secure aggregation).
 */
async function seedLedger(tx: UpgradeTransaction, at: number): Promise<void> {
  const [consents, history] = await Promise.all([
    tx.objectStore(STORES.consent).getAll(),
    tx.objectStore(STORES.history).getAll(),
  ])
  const seeds = new Map<string, LedgerRecord>()
  const seed = (taskId: string, taskName: string, joinedAt: number): LedgerRecord => {
    let record = seeds.get(taskId)
    if (!record) {
      record = {
        taskId,
        taskName,
        joinedAt,
        rounds: 0,
        lastContributionAt: null,
        differentialPrivacy: null,
        secureAggregation: false,
        updatedAt: at,
      }
      seeds.set(taskId, record)
    }
    record.joinedAt = Math.min(record.joinedAt, joinedAt)
    return record
  }
  for (const c of consents) seed(c.taskId, c.taskName, c.decidedAt)
  for (const r of history) {
    if (r.outcome !== 'accepted') continue
    const record = seed(r.taskId, r.taskName, r.startedAt)
    record.rounds += 1
    record.lastContributionAt = Math.max(record.lastContributionAt ?? r.finishedAt, r.finishedAt)
  }
  const ledger = tx.objectStore(STORES.ledger)
  await Promise.all([...seeds.values()].map((record) => ledger.put(record)))
}

export const DB_VERSION = UPGRADES.length

export interface OpenOptions {
  name?: string
  /** Open an older version of the schema (tests of the upgrades). */
  version?: number
}

/** Opens (creating or upgrading) the phone's database. */
export function openPollenDB({
  name = DB_NAME,
  version = DB_VERSION,
}: OpenOptions = {}): Promise<PollenDatabase> {
  return openDB<PollenDB>(name, version, {
    upgrade(db, oldVersion, newVersion, tx) {
      for (let v = oldVersion; v < (newVersion ?? version); v++) UPGRADES[v]!(db, tx)
    },
  })
}
