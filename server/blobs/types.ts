/** Content-addressed, immutable blobs (model checkpoints). */
export interface BlobStore {
  /** Stores the bytes and returns their SHA-256; storing the same bytes twice is a no-op. */
  put(bytes: Uint8Array): Promise<string>
  get(hash: string): Promise<Uint8Array | undefined>
  has(hash: string): Promise<boolean>
  /** Removes a blob nothing refers to any more (a replaced held-out set); absent: blobs stay. */
  delete?(hash: string): Promise<void>
}
