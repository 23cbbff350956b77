import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { isDatabaseUnavailable, type Sql } from '../db/client'
import type { Logger } from '../log'
import { TelegramError, type Keyboard, type TelegramClient } from './client'
import { renderOrderMessage } from './message'
import { claimDueDeliveries, finishFailed, finishSent, finishSkipped, loadDelivery, postpone, releaseLease, type DeliveryRow, type Pacing } from './outbox'
import { migrateChat } from './repository'
import type { TokenCipher } from './secrets'

export type DeliveryConfig = {
  timeoutMs: number
  baseDelayMs: number
  maxDelayMs: number
  maxAttempts: number
  /** A delivery older than this is given up whatever its attempt count. */
  maxAgeMs: number
  leaseSec: number
  /** Longest sleep of an idle dispatcher; work committed anywhere wakes it sooner (LISTEN/NOTIFY). */
  intervalMs: number
  /** Attempts in flight at once per process (each to a different shop). */
  concurrency: number
} & Pacing

export const defaultDeliveryConfig: DeliveryConfig = {
  timeoutMs: 4000,
  baseDelayMs: 2000,
  maxDelayMs: 600_000,
  maxAttempts: 12,
  maxAgeMs: 24 * 3600_000,
  leaseSec: 30,
  intervalMs: 500,
  concurrency: 32,
  chatIntervalMs: 1000,
  groupIntervalMs: 3000,
}

/** How long a status edit waits for the notification it edits before looking again. */
const STATUS_EDIT_WAIT_MS = 2000

export type AttemptOutcome = { status: 'sent' | 'failed'; error?: string; retryAt?: Date | null }

export type KeyboardFor = (d: DeliveryRow) => Keyboard | undefined

/**
 * Attempts and retries of notifications. `attempt` sends one leased delivery and records the outcome;
 * the dispatcher loop claims due deliveries (retries, and first attempts whose request died) and
 * attempts them. Transient failures back off exponentially with jitter (429: exactly `retry_after`),
 * a migrated group is followed and resent at once, terminal failures stop.
 *
 * Duplicate window: the Bot API has no idempotency key. If the process dies after Telegram accepted a
 * message and before `finishSent` commits, the lease expires and the message is sent again. The window
 * is one round trip to PostgreSQL; every attempt is bounded by `timeoutMs`, far below the lease, so a
 * live worker never loses its lease mid-send.
 */
export class Delivery {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  private running = false
  private loop: Promise<void> | null = null
  private wakeUp: (() => void) | null = null
  private wakePending = false
  private listener: { unlisten(): Promise<void> } | null = null
  private readonly inFlight = new Set<Promise<unknown>>()

  constructor(
    private readonly deps: {
      sql: Sql
      client: TelegramClient
      cipher: TokenCipher
      log: Logger
      config: DeliveryConfig
      keyboard?: KeyboardFor
      random?: () => number
    },
  ) {}

  get config() {
    return this.deps.config
  }

  /** Backoff before attempt n+1 after n failures: exponential, capped, with ±50% jitter. */
  backoffMs(attempts: number): number {
    const { baseDelayMs, maxDelayMs } = this.deps.config
    const raw = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempts - 1))
    return Math.round(raw * (0.5 + (this.deps.random ?? Math.random)()))
  }

  /** One attempt of a delivery whose lease the caller holds. Never throws for a Telegram failure. */
  async attempt(delivery: string | DeliveryRow, signal?: AbortSignal): Promise<AttemptOutcome> {
    const { sql, client, cipher, log } = this.deps
    const started = Date.now()
    // The request making the first attempt already has the row from its insert.
    const d = typeof delivery === 'string' ? await loadDelivery(sql, delivery) : delivery
    if (!d || d.state !== 'pending') return { status: d?.state === 'done' ? 'sent' : 'failed', error: 'not pending' }
    const text = renderOrderMessage(
      {
        number: d.number,
        total: d.total,
        customerName: d.customer_name,
        customerPhone: d.customer_phone,
        recipientName: d.recipient_name,
        recipientPhone: d.recipient_phone,
        deliveryDate: d.delivery_date,
        deliveryTime: d.delivery_time,
        address: d.address,
        comment: d.comment,
        status: d.status,
        acceptedBy: d.accepted_by,
        acceptedAt: d.accepted_at,
      },
      d.shop_name,
    )
    const fields = { shopId: d.shop_id, orderId: d.order_id, deliveryId: d.id, kind: d.kind, attempt: d.attempts + 1 }
    const fail = async (error: string, retryAt: Date | null): Promise<AttemptOutcome> => {
      const recorded = await finishFailed(sql, { id: d.id, owner: this.owner, kind: d.kind, shopId: d.shop_id, orderId: d.order_id, text, error, retryAt, revision: d.revision })
      log.warn(retryAt ? 'delivery_retry_scheduled' : 'delivery_failed', { ...fields, error, retryAt, recorded })
      return { status: 'failed', error, retryAt }
    }
    if (!d.bot_token || !d.chat_id || !d.enabled) {
      return fail(d.bot_token ? (d.enabled ? 'Чат не подключён' : 'Уведомления выключены') : 'Telegram не подключён', null)
    }
    let token: string
    try {
      token = cipher.decrypt(d.bot_token)
    } catch {
      return fail('Не удалось расшифровать токен бота: проверьте ENCRYPTION_KEY и сохраните токен заново', null)
    }
    if (d.kind === 'order_status' && !d.message_id) {
      // Nothing to edit yet. While the notification itself is still on its way it will carry the
      // current status anyway, but it may be in flight with the old one: look again shortly.
      if (d.order_delivery_state === 'pending') {
        const until = new Date(Date.now() + STATUS_EDIT_WAIT_MS)
        await postpone(sql, d.id, this.owner, until)
        return { status: 'failed', error: 'ждём отправки уведомления о заказе', retryAt: until }
      }
      if (d.order_delivery_state !== 'done') {
        await finishSkipped(sql, d.id, this.owner, 'уведомление о заказе не было отправлено: редактировать нечего')
        return { status: 'sent' }
      }
    }
    const keyboard = this.deps.keyboard?.(d)
    let chatId = d.chat_id
    // A migrated group is followed at most twice in one attempt (it migrates once in reality).
    for (let hop = 0; hop < 3; hop++) {
      try {
        if (d.kind === 'order_status' && d.message_id && d.message_chat_id) {
          await client.editMessageText(token, { chatId: d.message_chat_id, messageId: Number(d.message_id), text, keyboard }, signal)
          await this.recordSent(started, { id: d.id, kind: d.kind, shopId: d.shop_id, orderId: d.order_id, text, messageId: Number(d.message_id), chatId: d.message_chat_id, mock: client.mode === 'mock', revision: d.revision })
        } else {
          const sent = await client.sendMessage(token, { chatId, text, keyboard }, signal)
          await this.recordSent(started, { id: d.id, kind: d.kind, shopId: d.shop_id, orderId: d.order_id, text, messageId: sent.messageId, chatId: sent.chatId, mock: client.mode === 'mock', revision: d.revision })
        }
        log.info('delivery_sent', { ...fields, mock: client.mode === 'mock' })
        return { status: 'sent' }
      } catch (err) {
        if (!(err instanceof TelegramError)) throw err
        const f = err.failure
        if (f.kind === 'migrated') {
          await migrateChat(sql, Number(d.shop_id), chatId, f.newChatId)
          log.info('chat_migrated', { ...fields, newChatId: f.newChatId })
          chatId = f.newChatId
          continue
        }
        if (f.kind === 'terminal' && f.code === 'not_modified') {
          await this.recordSent(started, { id: d.id, kind: d.kind, shopId: d.shop_id, orderId: d.order_id, text, messageId: Number(d.message_id), chatId: d.message_chat_id ?? chatId, mock: false, revision: d.revision })
          return { status: 'sent' }
        }
        if (f.kind === 'terminal' && f.code === 'message_gone' && d.kind === 'order_status') {
          // The message was deleted: fall back to one new message with the current status.
          d.message_id = null
          continue
        }
        if (f.kind === 'terminal') return fail(f.reason, null)
        const attempts = d.attempts + 1
        const tooOld = Date.now() - new Date(d.created_at).getTime() > this.deps.config.maxAgeMs
        if (attempts >= this.deps.config.maxAttempts || tooOld) return fail(`${f.reason}; попытки исчерпаны (${attempts})`, null)
        const delay = f.retryAfterSec !== undefined ? f.retryAfterSec * 1000 : this.backoffMs(attempts)
        return fail(f.reason, new Date(Date.now() + delay))
      }
    }
    return fail('Чат переносится слишком много раз', null)
  }

  /**
   * Telegram has the message: record it. If the database is away right now, answer "sent" anyway and
   * keep trying in the background while our lease lasts — giving up early would let the lease
   * expire and the message be sent a second time.
   */
  private async recordSent(started: number, p: Parameters<typeof finishSent>[1]): Promise<void> {
    const { sql, log, config } = this.deps
    try {
      return await finishSent(sql, p)
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err
      log.warn('record_sent_retrying', { deliveryId: p.id, shopId: p.shopId, orderId: p.orderId, error: err })
    }
    const deadline = started + config.leaseSec * 1000 - 5000
    const retry = (async () => {
      for (let delay = 100; Date.now() + delay < deadline; delay = Math.min(delay * 2, 2000)) {
        await Bun.sleep(delay)
        try {
          await finishSent(sql, p)
          log.info('record_sent_recovered', { deliveryId: p.id, shopId: p.shopId, orderId: p.orderId })
          return
        } catch (err) {
          if (!isDatabaseUnavailable(err)) throw err
        }
      }
      log.error('record_sent_gave_up', { deliveryId: p.id, shopId: p.shopId, orderId: p.orderId, hint: 'the lease expires and the message may be sent again' })
    })().catch((err) => log.error('record_sent_failed', { deliveryId: p.id, error: err }))
    this.inFlight.add(retry)
    void retry.finally(() => this.inFlight.delete(retry))
  }

  /** Starts the dispatcher loop (every replica runs one) and listens for work committed anywhere. */
  start(): void {
    if (this.running) return
    this.running = true
    this.loop = this.run()
  }

  /** Lets the loop look for work now instead of at the next interval (never lost while it is busy). */
  wake(): void {
    this.wakePending = true
    this.wakeUp?.()
  }

  /** Stops claiming, waits for attempts in flight, then returns. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.wake()
    await this.loop
    await Promise.allSettled([...this.inFlight])
    const l = this.listener
    this.listener = null
    await l?.unlisten().catch(() => {})
  }

  /** Claims what is due (up to `limit`, one per shop, paced per chat). */
  private claim(limit: number) {
    const { sql, config } = this.deps
    return claimDueDeliveries(sql, this.owner, limit, config.leaseSec, config)
  }

  /** Runs one leased delivery in the background; a free slot wakes the loop. */
  private launch(id: string): void {
    const { sql, log } = this.deps
    const p = this.attempt(id)
      .catch(async (err) => {
        log.error('delivery_attempt_error', { deliveryId: id, error: err })
        await releaseLease(sql, id, this.owner).catch(() => {})
      })
      .finally(() => {
        this.inFlight.delete(p)
        this.wake()
      })
    this.inFlight.add(p)
  }

  /** One pass for tests and tools: claim what is due now and attempt it all. */
  async runOnce(): Promise<number> {
    const claimed = await this.claim(this.deps.config.concurrency)
    await Promise.all(claimed.map((c) => this.attempt(c.id).catch(() => releaseLease(this.deps.sql, c.id, this.owner))))
    return claimed.length
  }

  private async listen(): Promise<void> {
    if (this.listener) return
    // onlisten runs on every (re)connect: whatever was committed while we were away is looked at.
    this.listener = await this.deps.sql.listen('telegram_outbox', () => this.wake(), () => this.wake())
  }

  /**
   * Keeps up to `concurrency` attempts in flight: claims as slots free up, sleeps when nothing is due
   * until a NOTIFY, a finished attempt or the interval wakes it.
   */
  private async run(): Promise<void> {
    const { config, log } = this.deps
    while (this.running) {
      this.wakePending = false
      if (!this.listener) await this.listen().catch((err) => log.warn('dispatcher_listen_failed', { error: err }))
      // Claim in batches: after a finished attempt, wait until a quarter of the slots are free (or
      // all attempts are done) rather than paying a claim query per message.
      const free = config.concurrency - this.inFlight.size
      if (free >= Math.max(1, Math.floor(config.concurrency / 4)) || this.inFlight.size === 0) {
        try {
          for (const c of await this.claim(free)) this.launch(c.id)
        } catch (err) {
          log.warn('dispatcher_error', { error: err })
        }
      }
      if (!this.running) break
      if (this.wakePending) continue
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, config.intervalMs)
        this.wakeUp = () => {
          clearTimeout(t)
          resolve()
        }
      })
      this.wakeUp = null
    }
  }
}
