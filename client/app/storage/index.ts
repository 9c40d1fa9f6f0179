export { DB_NAME, DB_VERSION, INDEXES, openPollenDB, roundDownload, STORES } from './schema.ts'
export type {
  CheckpointRecord,
  ConsentRecord,
  DatasetsSetting,
  DemoSetting,
  DeviceSetting,
  ExampleRecord,
  ExampleSource,
  HistoryOutcome,
  HistoryRecord,
  LedgerPrivacy,
  LedgerRecord,
  ModelRecord,
  OpenOptions,
  PendingUpload,
  PollenDatabase,
  PollenDB,
  ResidualRecord,
  RoundDownload,
  SettingKey,
  SettingRecord,
  SpeedRecord,
  TrainingConditions,
} from './schema.ts'
export { loadSpeed, saveSpeed } from './speed.ts'
export { MAX_REMEMBERED, rememberDatasets, rememberedDatasets } from './datasets.ts'
export {
  addExamples,
  countsByDataset,
  deleteAllExamples,
  deleteDataset,
  labelCounts,
  readExamples,
  replaceExamples,
} from './examples.ts'
export type { AddOptions, DatasetCounts, ReplaceOptions } from './examples.ts'
