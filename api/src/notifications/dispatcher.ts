import type { Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import type { Sender } from './sender'
import { claimDueNotifications, loadNotifications, releaseLease, type NotificationRow } from './outbox'
import { scheduleSummaries } from './summary'
import { BackgroundLoop } from '../platform/loop'

/**
 * The loop every replica runs: claims due deliveries (retries, status edits, first attempts whose
 * request died) with SKIP LOCKED leases, paced per chat, and keeps up to `concurrency` attempts in
 * flight. It sleeps until a NOTIFY on `telegram_outbox` (work committed by any process), a finished
 * attempt, or the interval.
 */
export class Dispatcher extends BackgroundLoop {
  private listener: { unlisten(): Promise<void> } | null = null
  private readonly inFlight = new Set<Promise<unknown>>()

  private lastScheduled = 0

  constructor(private readonly deps: { sql: Sql; delivery: Sender; log: Logger; now?: () => Date }) {
    super()
  }

  /** Writes the next morning summaries (idempotent); every replica may, the database keeps one. */
  async schedule(): Promise<number> {
    this.lastScheduled = Date.now()
    return scheduleSummaries(this.deps.sql, this.deps.now?.() ?? new Date())
  }

  /** After the loop: wait for attempts in flight, then stop listening. */
  protected async afterStop(): Promise<void> {
    await Promise.allSettled([...this.inFlight])
    const l = this.listener
    this.listener = null
    await l?.unlisten().catch(() => {})
  }

  /** Claims what is due (up to `limit`, one per shop, paced per chat). */
  private claim(limit: number) {
    const { sql, delivery } = this.deps
    return claimDueNotifications(sql, delivery.owner, limit, delivery.config.leaseSec, delivery.config)
  }

  /** Loads what was claimed in one statement and runs each leased delivery in the background. */
  private async launchAll(claimed: { id: string }[]): Promise<void> {
    if (!claimed.length) return
    const rows = await loadNotifications(
      this.deps.sql,
      this.deps.delivery.kinds,
      claimed.map((c) => c.id),
    )
    const loaded = new Set(rows.map((r) => String(r.id)))
    for (const r of rows) this.launch(r)
    for (const c of claimed) if (!loaded.has(String(c.id))) await releaseLease(this.deps.sql, c.id, this.deps.delivery.owner).catch(() => {})
  }

  /** Runs one leased delivery in the background; a free slot wakes the loop. */
  private launch(row: NotificationRow): void {
    const { sql, log } = this.deps
    const id = row.id
    const p = this.deps.delivery
      .attempt(row)
      .catch(async (err) => {
        log.error('delivery_attempt_error', { deliveryId: id, error: err })
        await releaseLease(sql, id, this.deps.delivery.owner).catch(() => {})
      })
      .finally(() => {
        this.inFlight.delete(p)
        this.wake()
      })
    this.inFlight.add(p)
  }

  /** One pass for tests and tools: claim what is due now and attempt it all. */
  async runOnce(): Promise<number> {
    const { delivery, sql } = this.deps
    const claimed = await this.claim(delivery.config.concurrency)
    const rows = claimed.length
      ? await loadNotifications(
          sql,
          delivery.kinds,
          claimed.map((c) => c.id),
        )
      : []
    await Promise.all(rows.map((r) => delivery.attempt(r).catch(() => releaseLease(sql, r.id, delivery.owner))))
    return claimed.length
  }

  private async listen(): Promise<void> {
    if (this.listener) return
    // onlisten runs on every (re)connect: whatever was committed while we were away is looked at.
    this.listener = await this.deps.sql.listen(
      'telegram_outbox',
      () => this.wake(),
      () => this.wake(),
    )
  }

  /**
   * Keeps up to `concurrency` attempts in flight: claims as slots free up, sleeps when nothing is due
   * until a NOTIFY, a finished attempt or the interval wakes it.
   */
  protected async run(): Promise<void> {
    const { log } = this.deps
    const config = this.deps.delivery.config
    // Shops claimed now may be written to again after the pacing interval: look again at the earliest
    // such moment rather than at the (longer) idle interval, so a backlog drains at Telegram's pace.
    let reopen: number[] = []
    while (this.running) {
      this.wakePending = false
      if (!this.listener) await this.listen().catch((err) => log.warn('dispatcher_listen_failed', { error: err }))
      // The next morning summaries are written once a minute (idempotent; any replica may).
      if (Date.now() - this.lastScheduled > 60_000) await this.schedule().catch((err) => log.warn('schedule_failed', { error: err }))
      // Claim in batches: after a finished attempt, wait until a quarter of the slots are free (or
      // all attempts are done) rather than paying a claim query per message.
      const free = config.concurrency - this.inFlight.size
      if (free >= Math.max(1, Math.floor(config.concurrency / 4)) || this.inFlight.size === 0) {
        try {
          const claimed = await this.claim(free)
          await this.launchAll(claimed)
          if (claimed.length && config.chatIntervalMs > 0) reopen.push(Date.now() + Math.min(config.chatIntervalMs, config.groupIntervalMs) + 5)
        } catch (err) {
          log.warn('dispatcher_error', { error: err })
        }
      }
      if (!this.running) break
      if (this.wakePending) continue
      const now = Date.now()
      reopen = reopen.filter((t) => t > now)
      const untilReopen = reopen.length ? Math.min(...reopen) - now : Infinity
      await this.sleep(Math.min(untilReopen, config.intervalMs))
    }
  }
}
