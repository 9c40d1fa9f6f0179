// The address phones open, and a QR code of it to scan. The coordinator has no endpoint that
// says its LAN address, so the dashboard starts from its own origin and lets the scientist
// type the address the coordinator printed.
import QRCode from 'qrcode'
import { byId } from '../app/dom.ts'

export function setUpJoin(doc: Document, origin: string): void {
  const input = byId(doc, 'join-url', HTMLInputElement)
  const image = byId(doc, 'join-qr', HTMLImageElement)
  const draw = async () => {
    const url = input.value.trim()
    if (url === '') {
      image.hidden = true
      return
    }
    image.src = await QRCode.toDataURL(url, { margin: 1, width: 360, errorCorrectionLevel: 'M' })
    image.alt = `QR code of ${url}`
    image.hidden = false
  }
  input.value = `${origin}/`
  input.addEventListener('input', () => void draw())
  void draw()
}
