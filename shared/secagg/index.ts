// SecAgg+: the server learns the sum of the participants' vectors and nothing else, for the
// coordinator (server.ts) and the phone (client.ts) alike. Browser-, worker- and Node-safe.
export * from './messages.ts'
export { SECAGG_DEFAULTS } from './constants.ts'
export { SecAggError, type SecAggErrorCode } from './errors.ts'
export {
  createSecAggRound,
  type SecAggResult,
  type SecAggRound,
  type SecAggRoundOptions,
  type SecAggStats,
} from './server.ts'
export {
  createSecAggClient,
  SECAGG_CLIENT_STAGES,
  type CollectView,
  type SecAggClient,
  type SecAggClientStage,
  type ShareView,
  type UnmaskView,
} from './client.ts'
export { degreeFor, thresholdFor } from './graph.ts'
export { dequantizeSum, quantizationError, quantize, scaleFor } from './quantize.ts'
export {
  dequantizeRing,
  dequantizeRingSum,
  maskedBits,
  maskedWords,
  quantizeRing,
  ringBits,
  ringErrorBound,
  ringLength,
  ringMeanSquareBound,
  secureBits,
  type RingInput,
  type RingSettings,
} from './ring.ts'
export {
  decodeMaskedUpdate,
  encodeMaskedUpdate,
  isMaskedFrame,
  fromBase64url,
  toBase64url,
  type MaskedUpdate,
} from './wire.ts'
