import { ByteBudget, inflateLimited } from './inflate.ts'

/**
 * A zip archive's central directory, read without trusting it: every offset and size is checked
 * against the file, and an entry's declared size is only a claim its inflation must not pass
 * (the budget counts the bytes that really come out). Stored and deflated entries are read;
 * ZIP64, encryption and other methods are refused with what they are.
 */
export interface ZipEntry {
  path: string
  /** Compression: 0 stored, 8 deflate. */
  method: number
  flags: number
  crc: number
  compressedSize: number
  declaredSize: number
  localOffset: number
  /** Unix mode from the external attributes, 0 where the archiver wrote none. */
  mode: number
}

export class ZipError extends Error {
  constructor(
    message: string,
    readonly entry?: string,
  ) {
    super(message)
    this.name = 'ZipError'
  }
}

const EOCD = 0x06054b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50
const METHODS: Record<number, string> = {
  1: 'shrink',
  6: 'implode',
  9: 'deflate64',
  12: 'bzip2',
  14: 'LZMA',
  93: 'zstd',
  95: 'xz',
  99: 'AES',
}

export const isZip = (b: Uint8Array): boolean =>
  b.length >= 4 &&
  b[0] === 0x50 &&
  b[1] === 0x4b &&
  (b[2] === 3 || b[2] === 5) &&
  (b[3] === 4 || b[3] === 6)

const decoder = new TextDecoder('utf-8')

/** The entries the central directory lists; throws ZipError on a malformed or unread archive. */
export function listZip(bytes: Uint8Array, maxEntries: number): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const eocd = findEocd(bytes, view)
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    throw new ZipError('a multi-part (spanned) archive: give it as one file')
  }
  const n = view.getUint16(eocd + 10, true)
  const size = view.getUint32(eocd + 12, true)
  const offset = view.getUint32(eocd + 16, true)
  if (n === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    throw new ZipError('a ZIP64 archive (over 65,535 entries or 4 GiB), which is not read')
  }
  if (n > maxEntries) {
    throw new ZipError(
      `${n.toLocaleString('en-US')} entries, more than the limit of ${maxEntries.toLocaleString('en-US')}`,
    )
  }
  if (offset + size > eocd)
    throw new ZipError('its central directory lies outside the file (truncated?)')
  const entries: ZipEntry[] = []
  let at = offset
  for (let i = 0; i < n; i++) {
    if (at + 46 > eocd || view.getUint32(at, true) !== CENTRAL) {
      throw new ZipError(`its central directory is corrupt at entry ${i + 1} of ${n}`)
    }
    const nameLength = view.getUint16(at + 28, true)
    const next =
      at + 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true)
    if (next > eocd)
      throw new ZipError(`its central directory is corrupt at entry ${i + 1} of ${n}`)
    const entry: ZipEntry = {
      path: decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      flags: view.getUint16(at + 8, true),
      method: view.getUint16(at + 10, true),
      crc: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      declaredSize: view.getUint32(at + 24, true),
      mode: view.getUint32(at + 38, true) >>> 16,
      localOffset: view.getUint32(at + 42, true),
    }
    if (
      entry.compressedSize === 0xffffffff ||
      entry.declaredSize === 0xffffffff ||
      entry.localOffset === 0xffffffff
    ) {
      throw new ZipError('a ZIP64 entry (over 4 GiB), which is not read', entry.path)
    }
    entries.push(entry)
    at = next
  }
  return entries
}

function findEocd(bytes: Uint8Array, view: DataView): number {
  // The end record is 22 bytes plus a comment of at most 65,535.
  const lowest = Math.max(0, bytes.length - 22 - 0xffff)
  for (let at = bytes.length - 22; at >= lowest; at--) {
    if (
      view.getUint32(at, true) === EOCD &&
      at + 22 + view.getUint16(at + 20, true) === bytes.length
    )
      return at
  }
  throw new ZipError('not a zip archive, or a truncated one (no end of central directory)')
}

const S_IFMT = 0o170000
const S_IFLNK = 0o120000

/** An entry's bytes, inflated against `budget` and checked against its CRC-32. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, budget: ByteBudget): Uint8Array {
  const fail = (message: string) => new ZipError(message, entry.path)
  if ((entry.mode & S_IFMT) === S_IFLNK) throw fail('a symbolic link, not an image')
  if (entry.flags & 1) throw fail('encrypted: give the archive without a password')
  if (entry.method !== 0 && entry.method !== 8) {
    throw fail(
      `compression method ${entry.method} (${METHODS[entry.method] ?? 'unknown'}) is not read: zip with deflate`,
    )
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const local = entry.localOffset
  if (local + 30 > bytes.length || view.getUint32(local, true) !== LOCAL) {
    throw fail('its local header is missing or corrupt')
  }
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true)
  const end = start + entry.compressedSize
  if (end > bytes.length) throw fail('truncated: its data runs past the end of the archive')
  const raw = bytes.subarray(start, end)
  let data: Uint8Array
  if (entry.method === 0) {
    if (!budget.take(raw.length))
      throw fail(
        `the archive expands beyond the limit of ${budget.limit.toLocaleString('en-US')} bytes`,
      )
    data = raw
  } else {
    const out = inflateLimited(raw, budget)
    if (!out.ok)
      throw fail(out.reason === 'over-budget' ? `the archive ${out.message}` : out.message)
    data = out.bytes
  }
  if (data.length !== entry.declaredSize) {
    throw fail(`expands to ${data.length} bytes, not the ${entry.declaredSize} its header declares`)
  }
  if (crc32(data) !== entry.crc) throw fail('CRC-32 mismatch: the archive is corrupt')
  return data
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

export function crc32(data: Uint8Array): number {
  let c = -1
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}
