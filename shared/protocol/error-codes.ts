/**
 * Every code an API error body carries, once: its HTTP status and when it is answered. The
 * coordinator answers a code with this status and no other; devices and the dashboard match
 * these names. docs/PROTOCOL.md's error table is checked against this one.
 */
export const ERROR_CODES = {
  invalid_request: {
    status: 400,
    when: 'a body fails its schema (a PATCH also when the changed task would); a bad `round` or `hash` in the path; text the store cannot hold',
  },
  malformed_json: { status: 400, when: 'the body is not JSON' },
  incomplete_body: { status: 400, when: 'the body was cut off or could not be read to its end' },
  invalid_model: {
    status: 400,
    when: 'a custom topology fails the check, or it or its initial weights do not build (in time)',
  },
  unauthorized: { status: 401, when: 'missing or wrong bearer token' },
  not_found: {
    status: 404,
    when: 'unknown task, route, round, model hash or weights file; no such secure round',
  },
  body_timeout: {
    status: 408,
    when: "an upload's body stalled or trickled past its time bound (the connection is closed)",
  },
  protocol_version: { status: 409, when: '`protocolVersion` is not `PROTOCOL_VERSION`' },
  conflict: {
    status: 409,
    when: "PATCH `status` on a `completed` task; a round's model that is not committed",
  },
  not_selected: {
    status: 409,
    when: 'a secure aggregation call from a device not selected in the round (or answered already)',
  },
  stage: {
    status: 409,
    when: "a secure aggregation call that belongs to another of the round's stages",
  },
  unknown_participant: {
    status: 409,
    when: 'a secure aggregation call from a device that advertised no keys in the round',
  },
  dropped: {
    status: 409,
    when: 'a secure aggregation call from a device that missed an earlier stage and left the round',
  },
  duplicate: { status: 409, when: 'a secure aggregation message the device sent already' },
  threshold: {
    status: 409,
    when: 'too few secure aggregation shares or participants to go on without leaking or failing',
  },
  payload_too_large: {
    status: 413,
    when: 'JSON body over its limit (the message says it): device 64 KiB, PATCH 256 KiB, new task 32 MiB',
  },
  unsupported_media_type: {
    status: 415,
    when: 'a JSON endpoint without `Content-Type: application/json`',
  },
  invalid: {
    status: 422,
    when: 'a secure aggregation message that is wrong: a key not on the curve, a share of the wrong kind (the field says which)',
  },
  not_neighbour: {
    status: 422,
    when: 'a secure aggregation ciphertext or share to or about a device that is not a neighbour',
  },
  over_budget: {
    status: 422,
    when: 'a private task whose first round alone would spend more than its `privacy.epsilonBudget`',
  },
  too_many_uploads: {
    status: 429,
    when: 'this device already has 2 uploads in progress (`Retry-After`)',
  },
  internal: { status: 500, when: 'anything unexpected (logged)' },
  busy: {
    status: 503,
    when: 'the coordinator is at a load bound: uploads in all, device requests (`Retry-After`)',
  },
} as const satisfies Record<string, { status: number; when: string }>

export type ErrorCode = keyof typeof ERROR_CODES
/** The statuses an API error is answered with. */
export type ErrorStatus = (typeof ERROR_CODES)[ErrorCode]['status']
/** The codes answered with one of `S`: `CodeOf<429 | 503>` is what a busy coordinator says. */
export type CodeOf<S extends ErrorStatus> = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['status'] extends S ? C : never
}[ErrorCode]

/** Each code by name, so a check reads `code === API_ERROR.duplicate` and a typo does not compile. */
export const API_ERROR = Object.fromEntries(Object.keys(ERROR_CODES).map((c) => [c, c])) as {
  readonly [C in ErrorCode]: C
}

export const errorStatus = <C extends ErrorCode>(code: C): (typeof ERROR_CODES)[C]['status'] =>
  ERROR_CODES[code].status

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code)
