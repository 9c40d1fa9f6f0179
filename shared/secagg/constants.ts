/**
 * The numbers and labels every SecAgg+ participant must agree on, defined once (as Flower's
 * secaggplus_constants.py does). Changing a label or a size changes the protocol: a device and a
 * coordinator built on different values cannot unmask each other's inputs.
 */

/** Domain separation for HKDF: a pairwise secret never doubles as a sealing key, or back. */
export const HKDF_INFO = {
  mask: 'pollen/secagg/v1/mask',
  seal: 'pollen/secagg/v1/seal',
} as const

/** Every secret shared (the self-mask seed b, a mask key's scalar d) and every PRG seed. */
export const SECRET_BYTES = 32
/** A Shamir share: its x-coordinate byte, then one byte per secret byte. */
export const SHARE_BYTES = 1 + SECRET_BYTES
/** GF(2^8) has 255 non-zero x-coordinates: no secret can have more holders. */
export const MAX_HOLDERS = 255
/** What one participant seals for one neighbour: its share of b, then its share of d. */
export const BUNDLE_BYTES = 2 * SHARE_BYTES
export const IV_BYTES = 12
export const TAG_BYTES = 16
/** A sealed bundle on the wire: IV, ciphertext, GCM tag. The server checks this size. */
export const SEALED_BUNDLE_BYTES = IV_BYTES + BUNDLE_BYTES + TAG_BYTES
/** A P-256 public key, raw uncompressed: 0x04, x, y. */
export const PUBLIC_KEY_BYTES = 65

export const SECAGG_DEFAULTS = {
  /** Share of a participant's neighbours needed to rebuild its secrets (the task's setting). */
  thresholdShare: 0.6,
  /** Fewest masked inputs the server may unmask the sum of. */
  minSurvivors: 2,
  /** Expected share of participants lost between advertising and revealing; sizes the graph. */
  dropoutRate: 0.1,
  retryAfterSeconds: 2,
} as const
