export { createDevice, type Device, type DeviceEvent, type DeviceOptions } from './runtime.ts'
export {
  createDeviceHttp,
  ProtocolError,
  readError,
  sleep,
  type DeviceHttp,
  type DeviceHttpOptions,
} from './http.ts'
export {
  baseKey,
  type ChooseEncoding,
  deltaWhereServed,
  downloadModel,
  memoryModelStore,
  ModelDamagedError,
  modelSource,
  type ModelDownload,
  type ModelRef,
  type ModelSource,
  type ModelStore,
} from './models.ts'
export { acceptedUploads, type CodecPick, roundCodec } from './codec.ts'
export {
  bytesPerEntry,
  chooseCodec,
  type NetworkSignals,
  networkCodec,
  networkNeed,
} from './codec-choice.ts'
export { chooseDownload, networkDownload } from './download-choice.ts'
export {
  type KeptResidual,
  memoryResiduals,
  type ResidualStore,
  usableResidual,
} from './residuals.ts'
export {
  runRound,
  ROUND_STAGES,
  type Checkpoints,
  type Delivered,
  type Delivery,
  type PlainUpdate,
  type RoundEvent,
  type RoundParts,
  type RoundResult,
} from './pipeline.ts'
export { encodeUpdate, partialWorkStop, privatized, updateMetadata } from './update.ts'
export type { SecureOutcome, SecureSession } from './secure.ts'
export type { Trainer, TrainJob, TrainOutcome } from './trainer.ts'
export { localTrainer } from './local-trainer.ts'
