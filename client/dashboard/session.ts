// The admin token, asked once and kept for this browser tab (sessionStorage): closing the tab
// forgets it, and it never reaches localStorage or a URL.
const KEY = 'pollen.adminToken'

export function tokenStore(storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>) {
  return {
    get: (): string | null => storage.getItem(KEY),
    set: (token: string) => storage.setItem(KEY, token),
    clear: () => storage.removeItem(KEY),
  }
}
