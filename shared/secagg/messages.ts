import { z } from 'zod'

/**
 * SecAgg+ (Bell et al. 2020, after Bonawitz et al. 2017), the messages one round exchanges
 * through the server. Byte strings travel as base64url without padding.
 *
 * advertise → share → collect → unmask → done (or abandoned at any stage short of the threshold)
 */
export const SECAGG_STAGES = [
  'advertise',
  'share',
  'collect',
  'unmask',
  'done',
  'abandoned',
] as const
export type SecAggStage = (typeof SECAGG_STAGES)[number]

const base64url = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]*$/, 'not base64url')
const participantId = z.string().min(1).max(100)

/** What every participant must agree on, fixed when the share stage opens. */
export interface SecAggConfig {
  /** Participants that advertised keys (U1). */
  participants: number
  /** Shares of a participant's secrets needed to rebuild them. */
  threshold: number
  /** Neighbours each participant masks with and shares with (participants − 1: complete graph). */
  degree: number
  /** Entries in the vector summed. */
  length: number
  /** Each entry is clamped to [−range, range] before it is quantized. */
  range: number
  /** Quantization levels per unit: participants × 2·range × scale < 2^32, so the sum never wraps. */
  scale: number
  /**
   * b-bit rounds (ring.ts): bits an entry (1..4) after the rotation; the masked words then carry
   * bits + ⌈log₂ participants⌉ bits, `range` bounds each vector's L2 norm, and `scale` is unused.
   */
  bits?: number
  /** b-bit rounds: the rotation's seed (uint32), the same for every participant. */
  seed?: number
}

/** advertise: the participant's two P-256 ECDH public keys, raw uncompressed (65 bytes). */
export const KeysMessageSchema = z.strictObject({
  /** Agrees the key that encrypts shares sent to this participant. */
  encryptionKey: base64url(100),
  /** Agrees the pairwise masks; its secret half is what dropped participants' shares rebuild. */
  maskKey: base64url(100),
})
export type KeysMessage = z.infer<typeof KeysMessageSchema>

/** share: one AES-GCM ciphertext per neighbour, holding that neighbour's shares of both secrets. */
export const SharesMessageSchema = z.strictObject({
  shares: z.array(z.strictObject({ to: participantId, ciphertext: base64url(1000) })).max(1000),
})
export type SharesMessage = z.infer<typeof SharesMessageSchema>

/** unmask: self-mask shares of survivors, mask-key shares of the dropped (never both for one). */
export const RevealMessageSchema = z.strictObject({
  selfMaskShares: z.array(z.strictObject({ of: participantId, share: base64url(200) })).max(1000),
  keyShares: z.array(z.strictObject({ of: participantId, share: base64url(200) })).max(1000),
})
export type RevealMessage = z.infer<typeof RevealMessageSchema>

export interface NeighbourKeys {
  id: string
  encryptionKey: string
  maskKey: string
}

/**
 * What the server asks of one participant now (GET …/secagg). `waiting`: this participant has
 * done its part of the stage (or has nothing to do yet) and should ask again after
 * `retryAfterSeconds`.
 */
export type SecAggView =
  | { stage: 'advertise'; waiting: boolean; retryAfterSeconds: number }
  | {
      stage: 'share'
      waiting: false
      config: SecAggConfig
      /** The participant's neighbours (not itself), with their keys. */
      neighbours: NeighbourKeys[]
    }
  | {
      stage: 'collect'
      waiting: false
      config: SecAggConfig
      /** Ciphertexts neighbours that reached the collect stage (U2) sent this participant. */
      ciphertexts: { from: string; ciphertext: string }[]
    }
  | {
      stage: 'unmask'
      waiting: false
      /** Neighbours whose masked input arrived (U3): reveal their self-mask shares. */
      survivors: string[]
      /** Neighbours that sent shares but no masked input: reveal their mask-key shares. */
      dropped: string[]
    }
  | {
      stage: 'share' | 'collect' | 'unmask'
      waiting: true
      retryAfterSeconds: number
    }
  | { stage: 'done'; waiting: false }
  | { stage: 'abandoned'; waiting: false; reason: string }
