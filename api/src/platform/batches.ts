/** One caller's item in a batch, with how to answer it. */
export type Waiting<T, R> = { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }

/**
 * Natural batching (DESIGN.md "Write in batches"): items handed in while a batch is being written
 * go together into the next one, which starts as soon as the previous has returned. A lone item waits
 * for nothing; a busy process writes tens per round trip. `write` answers every item of its batch;
 * whatever goes wrong in it, every caller is answered (a settled promise ignores the rest).
 */
export class NaturalBatches<T, R> {
  private queue: Waiting<T, R>[] = []
  private flushing = false

  constructor(
    private readonly write: (batch: Waiting<T, R>[]) => Promise<void>,
    private readonly max: number,
  ) {}

  push(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      if (!this.flushing) void this.flush()
    })
  }

  /** Items the current batch cannot take go first into the next one. */
  requeue(items: Waiting<T, R>[]): void {
    this.queue.unshift(...items)
  }

  private async flush(): Promise<void> {
    this.flushing = true
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.max)
        await this.write(batch).catch((err) => {
          for (const w of batch) w.reject(err)
        })
      }
    } finally {
      this.flushing = false
    }
  }
}
