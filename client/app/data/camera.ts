// The phone's camera for an image dataset: a live preview in a <video>, one frame taken at a
// time. The stream is stopped when the owner closes it or takes the picture, so the camera's
// light goes off as soon as it is not needed.

/** Why the camera did not open, in words for the owner. */
export class CameraError extends Error {
  override name = 'CameraError'
}

export interface Camera {
  /** Stops the stream (the camera light goes off); safe to call twice. */
  stop(): void
}

/** Opens the back camera (any camera when there is none) and plays it in `video`. */
export async function openCamera(
  video: HTMLVideoElement,
  media: Pick<MediaDevices, 'getUserMedia'> | undefined = navigator.mediaDevices,
): Promise<Camera> {
  if (!media?.getUserMedia)
    throw new CameraError(
      'This browser gives Pollen no camera here (it needs a secure https page). Choose image files instead.',
    )
  let stream: MediaStream
  try {
    stream = await media.getUserMedia({
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 } },
      audio: false,
    })
  } catch (error) {
    throw new CameraError(cameraRefusal(error), { cause: error })
  }
  const stop = () => {
    for (const track of stream.getTracks()) track.stop()
    video.srcObject = null
  }
  video.srcObject = stream
  video.muted = true
  video.playsInline = true
  try {
    await video.play()
  } catch (error) {
    stop()
    throw new CameraError(`The camera's picture could not be shown (${String(error)}).`, {
      cause: error,
    })
  }
  return { stop }
}

/** The browser's refusal, said for the owner. */
export function cameraRefusal(error: unknown): string {
  const name = error instanceof DOMException || error instanceof Error ? error.name : ''
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Pollen may not use the camera: allow it in the browser’s site settings, or choose image files instead.'
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'This device has no camera Pollen can use. Choose image files instead.'
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera is busy (another app may be using it). Close that app and try again.'
    default:
      return `The camera did not open (${error instanceof Error ? error.message || name : String(error)}).`
  }
}
