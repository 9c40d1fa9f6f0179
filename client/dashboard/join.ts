// The address phones open, and a QR code of it to scan: the LAN address the coordinator
// printed (GET /api/v1/join) once it answers, else the dashboard's own origin; editable, since
// only the scientist knows which address the phones can reach.
import QRCode from 'qrcode'
import { byId } from '../ui/dom.ts'

export function setUpJoin(doc: Document, origin: string, phoneUrl: Promise<string | null>): void {
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
  let edited = false
  input.addEventListener('input', () => {
    edited = true
    void draw()
  })
  void draw()
  void phoneUrl.then((url) => {
    if (!url || edited) return
    input.value = url
    void draw()
  })
}
