export {
  createDevice,
  ProtocolError,
  sleep,
  type Device,
  type DeviceEvent,
  type DeviceOptions,
} from './runtime.ts'
export type { Trainer, TrainJob, TrainOutcome } from './trainer.ts'
export { localTrainer } from './local-trainer.ts'
