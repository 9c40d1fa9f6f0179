import type { UploadProblem, UploadResult } from '../rounds/index.ts'

/** The HTTP status of each upload outcome (docs/PROTOCOL.md, "Uploading an update"). */
const UPLOAD_STATUS = {
  accepted: 200,
  'unknown-round': 404,
  duplicate: 409,
  late: 410,
  stale: 410,
  // A rejected update's status says what was wrong with it.
  rejected: {
    'too-large': 413,
    'out-of-stage': 409,
    invalid: 422,
  },
} as const satisfies Record<
  UploadResult['answer']['type'],
  UploadStatus | Record<UploadProblem, UploadStatus>
>

export type UploadStatus = 200 | 404 | 409 | 410 | 413 | 422

/** The status an upload's outcome is answered with. */
export function uploadStatus({ answer, problem }: UploadResult): UploadStatus {
  const status = UPLOAD_STATUS[answer.type]
  return typeof status === 'number' ? status : status[problem ?? 'invalid']
}

/** An upload's outcome with its status, as the device route answers it. */
export const withStatus = (result: UploadResult) => ({ status: uploadStatus(result), ...result })
