import type { WeightSpecEntry } from '../../shared/aggregation/index.ts'
import { l2Norm } from '../../shared/privacy/index.ts'
import { isMaskedFrame } from '../../shared/secagg/index.ts'
import {
  describeIssues,
  type UpdateMetadata,
  UpdateMetadataSchema,
} from '../../shared/protocol/index.ts'
import {
  type Codec,
  ContainerError,
  decodeContainerHeader,
  isEncoded,
  type NamedTensor,
  readContainer,
  type UpdateTensors,
} from '../../shared/tensors/index.ts'
import type { ModelInfo } from '../models/index.ts'
import { type ClaimBound, claimRefusal } from './claims.ts'

/** Header and metadata allowance on top of a model's float32 payload. */
export const UPLOAD_SLACK_BYTES = 64 * 1024

/** The most bytes an update of this model may take. */
export const uploadLimit = (info: Pick<ModelInfo, 'payloadBytes'>) =>
  info.payloadBytes + UPLOAD_SLACK_BYTES

/**
 * The codec a round counts an upload's bytes under: the one its container's header names,
 * `masked` for a secure round's masked vector, `unreadable` where neither could be read.
 */
export function uploadCodec(bytes: Uint8Array): string {
  if (isMaskedFrame(bytes)) return 'masked'
  try {
    return decodeContainerHeader(bytes).codec
  } catch {
    return 'unreadable'
  }
}

/** Adds `bytes` under `key` in a round's byte counts. */
export function addBytes(counts: Record<string, number>, key: string, bytes: number): void {
  counts[key] = (counts[key] ?? 0) + bytes
}

/** Why an update is not one the round can take: the field at fault and what was wrong. */
export interface Refusal {
  field: string
  message: string
}

/** The metadata parsed, and computed on `baseModel`. */
export function parseMetadata(
  raw: unknown,
  baseModel: string,
): { metadata: UpdateMetadata } | Refusal {
  const metadata = UpdateMetadataSchema.safeParse(raw)
  if (!metadata.success) {
    const issue = describeIssues(metadata.error)[0]!
    return { field: `metadata.${issue.field}`, message: issue.message }
  }
  if (metadata.data.baseModel !== baseModel)
    return {
      field: 'metadata.baseModel',
      message: `the update was computed against ${metadata.data.baseModel}, not this round's model ${baseModel}`,
    }
  return { metadata: metadata.data }
}

/** The metadata parsed, computed on `baseModel`, claiming no more than `claim` allows. */
export function checkMetadata(
  raw: unknown,
  baseModel: string,
  claim: ClaimBound,
): { metadata: UpdateMetadata } | Refusal {
  const parsed = parseMetadata(raw, baseModel)
  if ('field' in parsed) return parsed
  return claimRefusal(claim, parsed.metadata) ?? parsed
}

/** The tensors' names and shapes are the model's, in its order. */
export function checkShapes(
  tensors: readonly { name: string; shape: readonly number[] }[],
  expected: readonly WeightSpecEntry[],
): Refusal | null {
  if (tensors.length !== expected.length)
    return {
      field: 'tensors',
      message: `expected ${expected.length} tensors, got ${tensors.length}`,
    }
  for (const [i, want] of expected.entries()) {
    const got = tensors[i]!
    if (got.name !== want.name)
      return { field: `tensors[${i}].name`, message: `expected ${want.name}, got ${got.name}` }
    if (got.shape.length !== want.shape.length || got.shape.some((d, k) => d !== want.shape[k]))
      return {
        field: `tensors[${i}].shape`,
        message: `${want.name} must have shape [${want.shape.join(', ')}], got [${got.shape.join(', ')}]`,
      }
  }
  return null
}

/**
 * The tensors of an update: the model's names and shapes in its order, every value finite; gives
 * back their L2 norm. One pass for both: the float64 sum of float32 squares cannot overflow (each
 * is below 1.2e77), so the norm is finite exactly when every value is, and the norm bound needs
 * the norm anyway (issue 17: a pass over 1.2 M values saved per upload).
 */
export function checkTensors(
  tensors: readonly NamedTensor[],
  expected: readonly WeightSpecEntry[],
): Refusal | { norm: number } {
  const shapes = checkShapes(tensors, expected)
  if (shapes) return shapes
  const norm = l2Norm(tensors)
  if (!Number.isFinite(norm))
    return { field: 'tensors', message: 'the update contains NaN or infinite values' }
  return { norm }
}

/** A container refused: the part it names (the codec, a tensor, a header field), else the body. */
const containerRefusal = (error: ContainerError): Refusal => ({
  field: error.part ?? 'body',
  message: `not a valid update container (${error.code}): ${error.message}`,
})

/** `f()`, a ContainerError becoming the refusal naming its part. */
function reading<T>(f: () => T): T | Refusal {
  try {
    return f()
  } catch (error) {
    if (error instanceof ContainerError) return containerRefusal(error)
    throw error
  }
}

/**
 * A plain update checked: its container's header, its codec (one of the task's `codecs`), its
 * metadata (computed on `baseModel`), its tensors' names and shapes against the model's spec, and
 * only then its payload read (a compressed frame may describe far more entries than it holds:
 * the shapes bound what decoding allocates), every value finite (giving back their L2 norm), and
 * last what it claims against `claim`. A compressed payload is checked and its norm computed from
 * its frames, and it stays encoded: the round's mean adds it block by block (issue 18).
 */
export function checkUpdate(
  bytes: Uint8Array,
  {
    baseModel,
    spec,
    claim,
    codecs,
  }: {
    baseModel: string
    spec: readonly WeightSpecEntry[]
    claim: ClaimBound
    /** The codecs the task accepts for uploads. */
    codecs: readonly Codec[]
  },
): { tensors: UpdateTensors; metadata: UpdateMetadata; norm: number } | Refusal {
  const header = reading(() => decodeContainerHeader(bytes))
  if ('field' in header) return header
  if (!codecs.includes(header.codec))
    return {
      field: 'codec',
      message: `this task accepts uploads in ${codecs.join(', ')}, not ${header.codec}`,
    }
  const parsed = parseMetadata(header.metadata, baseModel)
  if ('field' in parsed) return parsed
  const shapes = checkShapes(header.tensors, spec)
  if (shapes) return shapes
  const container = reading(() => readContainer(bytes))
  if ('field' in container) return container
  const { tensors } = container
  const checked = isEncoded(tensors) ? { norm: tensors.norm } : checkTensors(tensors, spec)
  if ('field' in checked) return checked
  return (
    claimRefusal(claim, parsed.metadata) ?? { tensors: container.tensors, ...parsed, ...checked }
  )
}
