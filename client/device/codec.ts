// Which codec a round's plain update is uploaded in: the device's wish (its network, a
// simulator's flag), held to what the assignment accepts, since the coordinator refuses others.
import type { Assignment } from '../../shared/protocol/index.ts'
import type { Codec } from '../../shared/tensors/index.ts'

/** A device's wish for a round's upload codec (a phone: by its network; default float32). */
export type CodecPick = (assignment: Assignment) => Codec

/** The codecs the assignment accepts, in the task's order: float32 alone when it says none. */
export const acceptedUploads = (assignment: Assignment): readonly Codec[] =>
  assignment.compression?.uploads ?? ['float32']

/**
 * The codec the round uploads in: the wish when the assignment accepts it, else float32 when
 * that is accepted, else the task's first (a wish outside the list would only be refused).
 */
export function roundCodec(assignment: Assignment, pick?: CodecPick): Codec {
  const accepted = acceptedUploads(assignment)
  const wish = pick?.(assignment) ?? 'float32'
  if (accepted.includes(wish)) return wish
  return accepted.includes('float32') ? 'float32' : (accepted[0] ?? 'float32')
}
