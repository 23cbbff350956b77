/**
 * The one start/stop base every background loop shares (the dispatcher, the getUpdates poller): start
 * once, `wake()` to look again now (never lost while a pass runs), an interruptible sleep, and a
 * `stop()` that lets the current pass finish before it returns.
 */
export abstract class BackgroundLoop {
  protected running = false
  private loop: Promise<void> | null = null
  private wakeUp: (() => void) | null = null
  /** Set by `wake()`; a pass that sees it runs again instead of sleeping. */
  protected wakePending = false

  /** The loop body: runs until `running` is false. */
  protected abstract run(): Promise<void>

  start(): void {
    if (this.running) return
    this.running = true
    this.loop = this.run()
  }

  /** Look for work now instead of at the end of the current sleep. */
  wake(): void {
    this.wakePending = true
    this.wakeUp?.()
  }

  /** Stops the loop after its current pass; `afterStop` runs once it has. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.wake()
    await this.loop
    await this.afterStop()
  }

  protected async afterStop(): Promise<void> {}

  /** Sleeps `ms`, or less when woken. */
  protected sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms)
      this.wakeUp = () => {
        clearTimeout(t)
        resolve()
      }
    }).finally(() => {
      this.wakeUp = null
    })
  }
}
