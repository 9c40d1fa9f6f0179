// "Add pictures" for one image dataset: take a photo (the camera) or choose image files, move
// and zoom the frame over each, say its class, save. Files wait in a queue and come up one at a
// time; a file that cannot be read is named with the reason and skipped, nothing else lost.
import type { DatasetSpec, ImageFeatures } from '../../../shared/protocol/datasets.ts'
import { h } from '../../ui/dom.ts'
import { type Camera, CameraError, openCamera } from './camera.ts'
import type { RgbaImage } from './crop.ts'
import { mountCropEditor } from './crop-editor.ts'
import { MAX_FILES } from './import.ts'
import { grabFrame, PictureError, readPicture } from './picture.ts'
import { errorText, liveMessage, speaker } from './say.ts'

/** Where a stored picture came from. */
export type PictureSource = 'camera' | 'imported'

export interface ImageAddOptions {
  document: Document
  spec: DatasetSpec & { features: ImageFeatures }
  /** Stores one example (H×W×C bytes) with its label. */
  save: (features: Uint8Array, label: number, source: PictureSource) => Promise<void>
  media?: Pick<MediaDevices, 'getUserMedia'> | undefined
}

const describeShape = ({ height, width, channels }: ImageFeatures) =>
  `${width} × ${height} pixels, ${channels === 1 ? 'grayscale' : 'colour'}`

/** The form, to put in the dataset's card. */
export function imageAddForm({
  document,
  spec,
  save,
  media = navigator.mediaDevices,
}: ImageAddOptions): HTMLFormElement {
  const { features, classes } = spec
  const parts = imageAddParts(document, spec)
  const { form, takePhoto, files, video, capture, closeCamera, cameraBox, queueText } = parts
  const { view, zoom, preview, label, skip, saveButton, editor, message } = parts
  const say = speaker(message)
  const crop = mountCropEditor({ view, preview, zoom }, features)

  // The pictures waiting: files chosen, or the one photo taken.
  let queue: { name: string; source: PictureSource; read: () => Promise<RgbaImage> }[] = []
  let total = 0
  let current: { name: string; source: PictureSource } | null = null
  let camera: Camera | null = null
  let saving = false

  const stopCamera = () => {
    camera?.stop()
    camera = null
    cameraBox.hidden = true
  }

  /** Shows the next readable picture of the queue, or closes the editor. */
  async function next(): Promise<void> {
    for (;;) {
      const item = queue.shift()
      if (!item) {
        current = null
        editor.hidden = true
        crop.clear()
        return
      }
      try {
        const picture = await item.read()
        current = item
        const place = total > 1 ? `Picture ${total - queue.length} of ${total}: ` : ''
        queueText.textContent = `${place}${item.name}`
        editor.hidden = false
        crop.show(picture)
        label.focus()
        return
      } catch (error) {
        say(
          'error',
          error instanceof PictureError ? error.message : `${item.name}: ${errorText(error)}`,
        )
      }
    }
  }

  takePhoto.addEventListener('click', () => {
    say('info', 'Opening the camera…')
    openCamera(video, media)
      .then((opened) => {
        camera = opened
        cameraBox.hidden = false
        say('info', 'Point the camera, then press Capture.')
        capture.focus()
      })
      .catch((error: unknown) => {
        say('error', error instanceof CameraError ? error.message : errorText(error))
      })
  })
  closeCamera.addEventListener('click', () => {
    stopCamera()
    say('info')
    takePhoto.focus()
  })
  // Leaving the screen or the app turns the camera off: no light left on behind the owner's back.
  const win = document.defaultView
  win?.addEventListener('hashchange', stopCamera)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') stopCamera()
  })
  capture.addEventListener('click', () => {
    let frame
    try {
      frame = grabFrame(video)
    } catch (error) {
      say('error', errorText(error))
      return
    }
    stopCamera()
    say('info')
    queue = [{ name: 'Photo', source: 'camera', read: () => Promise.resolve(frame) }]
    total = 1
    void next()
  })

  files.addEventListener('change', () => {
    const chosen = [...(files.files ?? [])]
    files.value = ''
    if (chosen.length === 0) return
    if (chosen.length > MAX_FILES) {
      say('error', `That is ${chosen.length} files; choose at most ${MAX_FILES} at a time.`)
      return
    }
    stopCamera()
    say('info')
    queue = chosen.map((file) => ({
      name: file.name,
      source: 'imported',
      read: () => readPicture(file),
    }))
    total = chosen.length
    void next()
  })

  skip.addEventListener('click', () => {
    say('info', current ? `Skipped ${current.name}.` : '')
    void next()
  })

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (saving || !current) return
    const example = crop.example()
    if (!example) return
    if (label.value === '') {
      say('error', 'Choose the class of this picture, then save it.')
      label.focus()
      return
    }
    const index = Number(label.value)
    const name = classes[index]!
    const done = current
    saving = true
    saveButton.disabled = true
    save(example, index, done.source)
      .then(async () => {
        say('ok', `Saved ${done.name} as “${name}”.`)
        await next()
      })
      .catch((error: unknown) => {
        say('error', `${done.name} could not be stored: ${errorText(error)}`)
      })
      .finally(() => {
        saving = false
        saveButton.disabled = false
      })
  })

  return form
}

/** The form's elements, every control labelled; nothing happens on them yet. */
function imageAddParts(document: Document, spec: ImageAddOptions['spec']) {
  const el = <K extends keyof HTMLElementTagNameMap>(
    tag: K,
    className: string | null,
    ...children: (Node | string)[]
  ) => h(document, tag, className, ...children)
  const { features, classes } = spec

  const takePhoto = el('button', null, 'Take a photo')
  takePhoto.type = 'button'
  const files = el('input', null)
  files.type = 'file'
  files.accept = 'image/*'
  files.multiple = true
  const video = el('video', 'camera-view')
  video.setAttribute('aria-label', 'Camera preview')
  const capture = el('button', 'primary', 'Capture')
  capture.type = 'button'
  const closeCamera = el('button', null, 'Close camera')
  closeCamera.type = 'button'
  const cameraBox = el('div', 'camera', video, el('div', 'actions', closeCamera, capture))
  cameraBox.hidden = true

  const queueText = el('p', 'hint queue')
  const view = el('canvas', 'crop-view')
  view.tabIndex = 0
  view.setAttribute('role', 'img')
  view.setAttribute(
    'aria-label',
    'The picture. The frame marks what is kept: drag it, or use the arrow keys, to move it.',
  )
  const zoom = el('input', null)
  zoom.type = 'range'
  zoom.min = '1'
  zoom.max = '5'
  zoom.step = '0.1'
  zoom.value = '1'
  const preview = el('canvas', 'crop-preview')
  preview.setAttribute('role', 'img')
  preview.setAttribute('aria-label', `What the model gets: ${describeShape(features)}`)
  const label = el('select', null, el('option', null, 'Choose its class…'))
  // Named on its own: a wrapping label's name would take in the option shown.
  label.setAttribute('aria-label', 'Class of this picture')
  ;(label.firstChild as HTMLOptionElement).value = ''
  classes.forEach((name, i) => {
    const option = el('option', null, name)
    option.value = String(i)
    label.append(option)
  })
  const skip = el('button', null, 'Skip')
  skip.type = 'button'
  const saveButton = el('button', 'primary', 'Save')
  saveButton.type = 'submit'
  const editor = el(
    'div',
    'crop-editor',
    queueText,
    view,
    el('label', 'field', 'Zoom', zoom),
    el('div', 'crop-result', preview, el('span', 'hint', describeShape(features))),
    el('label', 'field', 'Class', label),
    el('div', 'actions', skip, saveButton),
  )
  editor.hidden = true
  const message = liveMessage(document, 'div')

  const form = el(
    'form',
    'add-images',
    el('h3', null, 'Add pictures'),
    el(
      'p',
      'hint',
      `Take a photo or choose image files. Move the frame over what matters, say its class, ` +
        `and save: it is kept here as ${describeShape(features)}.`,
    ),
    el('div', 'actions', takePhoto),
    el('label', 'field', 'Or choose image files', files),
    cameraBox,
    editor,
    message,
  )
  return {
    ...{ form, takePhoto, files, video, capture, closeCamera, cameraBox, queueText },
    ...{ view, zoom, preview, label, skip, saveButton, editor, message },
  }
}
