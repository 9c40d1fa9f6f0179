// A device that speaks the protocol over HTTP by hand, so a test can make it say anything.
import {
  type Assignment,
  type CheckinAnswer,
  type DatasetHeld,
  PROTOCOL_VERSION,
  type UploadAnswer,
} from '../shared/protocol/index.ts'
import {
  type Codec,
  type CodecOptions,
  encodeContainer,
  type NamedTensor,
} from '../shared/tensors/index.ts'

/** Enrols a device; its check-ins declare `datasets` unless told otherwise. */
export async function rawDevice(
  url: string,
  datasets: DatasetHeld[] = [{ name: 'mnist', examples: 600, labels: [600] }],
) {
  const enrolled = await fetch(`${url}/api/v1/devices`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
  })
  const { token } = (await enrolled.json()) as { token: string }
  const auth = { Authorization: `Bearer ${token}` }
  return {
    token,
    /** The raw check-in response (status and body): a refusal is an error body, not an answer. */
    async checkinResponse(declared: unknown = datasets) {
      const response = await fetch(`${url}/api/v1/devices/checkin`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          protocolVersion: PROTOCOL_VERSION,
          capabilities: { backend: 'wasm' },
          datasets: declared,
        }),
      })
      return { status: response.status, body: (await response.json()) as unknown }
    },
    async checkin(declared: DatasetHeld[] = datasets): Promise<CheckinAnswer> {
      return (await this.checkinResponse(declared)).body as CheckinAnswer
    },
    /**
     * Uploads `tensors` with `metadata` exactly as given (the base model defaults to the plan's),
     * in `encoding`'s codec (float32 unless told).
     */
    async upload(
      a: Assignment,
      tensors: NamedTensor[],
      metadata: Record<string, unknown>,
      encoding: { codec?: Codec } & CodecOptions = {},
    ) {
      const body = encodeContainer({
        tensors,
        metadata: { baseModel: a.model.hash, ...metadata },
        ...encoding,
      })
      return this.uploadBytes(a, body)
    },
    /** Uploads `body` as it is: a container a test has taken apart. */
    async uploadBytes(a: Assignment, body: Uint8Array) {
      const response = await fetch(`${url}${a.uploadUrl}`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/octet-stream' },
        body: body as Uint8Array<ArrayBuffer>,
      })
      return { status: response.status, answer: (await response.json()) as UploadAnswer }
    },
  }
}
