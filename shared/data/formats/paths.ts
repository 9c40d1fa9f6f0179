/**
 * An archive entry's path, judged before anything is read from it. Nothing is ever written to
 * disk, but a path that climbs out of its folder is a crafted archive and is refused, not mended.
 */
export type PathKind =
  | { kind: 'climbs'; why: string }
  | { kind: 'skip' }
  | { kind: 'folder' }
  | { kind: 'file'; segments: string[] }

/** What operating systems add beside a user's files: skipped, and counted in the notes. */
const SYSTEM_FILES = new Set(['__MACOSX', 'Thumbs.db', 'desktop.ini'])

export function classifyPath(path: string): PathKind {
  if (path.includes('\\')) return { kind: 'climbs', why: 'a backslash (paths use "/")' }
  if (path.includes('\0')) return { kind: 'climbs', why: 'a NUL character' }
  if (path.startsWith('/')) return { kind: 'climbs', why: 'an absolute path' }
  if (/^[a-zA-Z]:/.test(path)) return { kind: 'climbs', why: 'a drive letter' }
  const folder = path.endsWith('/')
  const segments = (folder ? path.slice(0, -1) : path).split('/')
  if (segments.some((s) => s === '..')) return { kind: 'climbs', why: 'a ".." segment' }
  if (segments.some((s) => s === '' || s === '.')) {
    return { kind: 'climbs', why: 'an empty or "." segment' }
  }
  if (folder) return { kind: 'folder' }
  if (segments.some((s) => s.startsWith('.') || SYSTEM_FILES.has(s))) return { kind: 'skip' }
  return { kind: 'file', segments }
}
