// "Add pictures" in real Chromium: real files decoded by the browser, the crop moved by the
// keyboard, the fake camera (--use-fake-device-for-media-stream) captured, and what reaches
// `save` checked byte by byte.
import { afterEach, describe, expect, it } from 'vitest'
import type { DatasetSpec, ImageFeatures } from '../../../shared/protocol/datasets.ts'
import { imageAddForm, type PictureSource } from './image-add.ts'

const spec: DatasetSpec & { features: ImageFeatures } = {
  name: 'colours',
  description: '',
  tags: [],
  features: { kind: 'image', height: 8, width: 8, channels: 3 },
  classes: ['red', 'green', 'blue'],
  deviceLabelling: true,
}

/** A PNG file, left half red and right half blue, `width` × `height`. */
async function halvesPng(name: string, width = 64, height = 48): Promise<File> {
  const canvas = document.createElement('canvas')
  canvas.width = width
  canvas.height = height
  const ctx = canvas.getContext('2d')!
  ctx.fillStyle = '#ff0000'
  ctx.fillRect(0, 0, width / 2, height)
  ctx.fillStyle = '#0000ff'
  ctx.fillRect(width / 2, 0, width / 2, height)
  const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'))
  return new File([blob], name, { type: 'image/png' })
}

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25))
  if (!check()) throw new Error(`timed out waiting for ${what}`)
}

function mount() {
  const saved: { features: Uint8Array; label: number; source: PictureSource }[] = []
  const form = imageAddForm({
    document,
    spec,
    save: (features, label, source) => {
      saved.push({ features, label, source })
      return Promise.resolve()
    },
  })
  document.body.append(form)
  const q = <T extends Element>(selector: string) => form.querySelector<T>(selector)!
  const editor = q<HTMLDivElement>('.crop-editor')
  const message = q<HTMLDivElement>('.message')
  const files = q<HTMLInputElement>('input[type=file]')
  const choose = (chosen: File[]) => {
    const transfer = new DataTransfer()
    for (const file of chosen) transfer.items.add(file)
    files.files = transfer.files
    files.dispatchEvent(new Event('change'))
  }
  const select = q<HTMLSelectElement>('select')
  const save = () => form.requestSubmit()
  return { form, saved, editor, message, choose, select, save, q }
}

/** The share of red among an RGB example's pixels (red: R high, B low). */
const redShare = (features: Uint8Array) => {
  let red = 0
  for (let p = 0; p < features.length; p += 3)
    if (features[p]! > 128 && features[p + 2]! < 128) red++
  return red / (features.length / 3)
}

afterEach(() => document.body.replaceChildren())

describe('imageAddForm', () => {
  it('crops a file to the dataset’s shape, centred, and saves it with the class chosen', async () => {
    const ui = mount()
    ui.choose([await halvesPng('halves.png')])
    await until(() => !ui.editor.hidden, 'the crop editor')
    expect(ui.q('.queue').textContent).toBe('halves.png')

    // No class chosen: refused, nothing saved.
    ui.save()
    expect(ui.message.getAttribute('role')).toBe('alert')
    expect(ui.message.textContent).toBe('Choose the class of this picture, then save it.')
    expect(ui.saved).toHaveLength(0)

    ui.select.value = '0'
    ui.save()
    await until(() => ui.saved.length === 1, 'the save')
    const [first] = ui.saved
    expect(first!.label).toBe(0)
    expect(first!.source).toBe('imported')
    expect(first!.features).toHaveLength(8 * 8 * 3)
    // The centred square of a 64×48 picture holds as much red as blue.
    expect(redShare(first!.features)).toBe(0.5)
    await until(() => ui.editor.hidden, 'the editor to close')
    expect(ui.message.textContent).toBe('Saved halves.png as “red”.')
  })

  it('moves the frame with the arrow keys and takes files one after another', async () => {
    const ui = mount()
    ui.choose([await halvesPng('one.png'), await halvesPng('two.png')])
    await until(() => !ui.editor.hidden, 'the crop editor')
    expect(ui.q('.queue').textContent).toBe('Picture 1 of 2: one.png')
    const view = ui.q<HTMLCanvasElement>('canvas.crop-view')
    // Shift+Left moves the frame a tenth of the picture's side (6.4 pixels): twice is all the
    // way left (the frame, 48 wide, starts at 8), where 32 of its 48 columns are red: 5⅓
    // example columns of 8 (the sixth mostly blue).
    const press = (key: string) =>
      view.dispatchEvent(new KeyboardEvent('keydown', { key, shiftKey: true }))
    press('ArrowLeft')
    press('ArrowLeft')
    ui.select.value = '0'
    ui.save()
    await until(() => ui.saved.length === 1, 'the first save')
    expect(redShare(ui.saved[0]!.features)).toBe(5 / 8)
    // The second comes up centred again.
    await until(() => ui.q('.queue').textContent === 'Picture 2 of 2: two.png', 'the second')
    press('ArrowRight')
    press('ArrowRight')
    ui.select.value = '2'
    ui.save()
    await until(() => ui.saved.length === 2, 'the second save')
    expect(ui.saved[1]!.label).toBe(2)
    // All the way right: 16 red columns of 48, 2⅔ example columns (the third mostly red).
    expect(redShare(ui.saved[1]!.features)).toBe(3 / 8)
  })

  it('names a file that is no picture, skips it, and goes on with the rest', async () => {
    const ui = mount()
    const text = new File(['not a picture'], 'notes.png', { type: 'image/png' })
    ui.choose([text, await halvesPng('good.png')])
    await until(() => !ui.editor.hidden, 'the crop editor')
    expect(ui.message.getAttribute('role')).toBe('alert')
    expect(ui.message.textContent).toBe(
      'notes.png: it is not an image: its contents are not PNG, JPEG, GIF, WebP or BMP.',
    )
    expect(ui.q('.queue').textContent).toBe('Picture 2 of 2: good.png')
    // Skip: nothing saved, the editor closes.
    ui.q<HTMLButtonElement>('.crop-editor .actions button').click()
    await until(() => ui.editor.hidden, 'the editor to close')
    expect(ui.saved).toHaveLength(0)
  })

  it('takes a photo with the camera', async () => {
    const ui = mount()
    const [take] = [...ui.form.querySelectorAll('button')].filter(
      (b) => b.textContent === 'Take a photo',
    )
    take!.click()
    const camera = ui.q<HTMLDivElement>('.camera')
    await until(() => !camera.hidden, 'the camera')
    const video = ui.q<HTMLVideoElement>('video')
    await until(() => video.videoWidth > 0, 'a camera frame')
    ;[...ui.form.querySelectorAll('button')].find((b) => b.textContent === 'Capture')!.click()
    await until(() => !ui.editor.hidden, 'the crop editor')
    // The camera is off once the picture is taken.
    expect(camera.hidden).toBe(true)
    expect(video.srcObject).toBeNull()
    ui.select.value = '1'
    ui.save()
    await until(() => ui.saved.length === 1, 'the save')
    expect(ui.saved[0]).toMatchObject({ label: 1, source: 'camera' })
    expect(ui.saved[0]!.features).toHaveLength(8 * 8 * 3)
  })

  it('turns the camera off when the owner leaves the screen', async () => {
    const ui = mount()
    ;[...ui.form.querySelectorAll('button')].find((b) => b.textContent === 'Take a photo')!.click()
    const camera = ui.q<HTMLDivElement>('.camera')
    const video = ui.q<HTMLVideoElement>('video')
    await until(() => !camera.hidden && video.srcObject !== null, 'the camera')
    const [track] = (video.srcObject as MediaStream).getVideoTracks()
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    expect(camera.hidden).toBe(true)
    expect(video.srcObject).toBeNull()
    expect(track!.readyState).toBe('ended')
  })

  it('says why when there is no camera', async () => {
    const saved: unknown[] = []
    const form = imageAddForm({
      document,
      spec,
      save: () => Promise.resolve(void saved.push(1)),
      media: {
        getUserMedia: () => Promise.reject(new DOMException('denied', 'NotAllowedError')),
      },
    })
    document.body.append(form)
    ;[...form.querySelectorAll('button')].find((b) => b.textContent === 'Take a photo')!.click()
    const message = form.querySelector('.message')!
    await until(() => message.getAttribute('role') === 'alert', 'the refusal')
    expect(message.textContent).toMatch(/^Pollen may not use the camera/)
  })
})
