/**
 * A bounded in-memory cache of downloaded photos: least recently used out first, by total bytes.
 * Telegram keeps the file; this only spares a `getFile` + download when the page shows the same
 * photo again. Entries bigger than `maxEntryBytes` are served but never kept.
 */
export class PhotoCache {
  private readonly entries = new Map<string, { bytes: Uint8Array; type: string }>()
  private size = 0

  constructor(
    readonly maxBytes = 32 * 1024 * 1024,
    readonly maxEntryBytes = 5 * 1024 * 1024,
  ) {}

  get(key: string): { bytes: Uint8Array; type: string } | undefined {
    const e = this.entries.get(key)
    if (e) {
      // most recently used last
      this.entries.delete(key)
      this.entries.set(key, e)
    }
    return e
  }

  set(key: string, bytes: Uint8Array, type: string): void {
    if (bytes.length > this.maxEntryBytes) return
    const old = this.entries.get(key)
    if (old) {
      this.size -= old.bytes.length
      this.entries.delete(key)
    }
    this.entries.set(key, { bytes, type })
    this.size += bytes.length
    for (const [k, e] of this.entries) {
      if (this.size <= this.maxBytes) break
      this.entries.delete(k)
      this.size -= e.bytes.length
    }
  }

  get bytes(): number {
    return this.size
  }

  get count(): number {
    return this.entries.size
  }
}
