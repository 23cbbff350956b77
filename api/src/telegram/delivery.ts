import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Sql } from '../db/client'
import type { Logger } from '../log'
import { TelegramError, type Keyboard, type TelegramClient } from './client'
import { renderOrderMessage } from './message'
import { claimDueDeliveries, finishFailed, finishSent, finishSkipped, loadDelivery, postpone, releaseLease, type DeliveryRow } from './outbox'
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
  intervalMs: number
  batchSize: number
  concurrency: number
}

export const defaultDeliveryConfig: DeliveryConfig = {
  timeoutMs: 4000,
  baseDelayMs: 2000,
  maxDelayMs: 600_000,
  maxAttempts: 12,
  maxAgeMs: 24 * 3600_000,
  leaseSec: 30,
  intervalMs: 1000,
  batchSize: 64,
  concurrency: 32,
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
  async attempt(deliveryId: string, signal?: AbortSignal): Promise<AttemptOutcome> {
    const { sql, client, cipher, log } = this.deps
    const d = await loadDelivery(sql, deliveryId)
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
      const recorded = await finishFailed(sql, { id: d.id, owner: this.owner, kind: d.kind, shopId: d.shop_id, orderId: d.order_id, text, error, retryAt })
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
          await finishSent(sql, { id: d.id, kind: d.kind, shopId: d.shop_id, orderId: d.order_id, text, messageId: Number(d.message_id), chatId: d.message_chat_id, mock: client.mode === 'mock', revision: d.revision })
        } else {
          const sent = await client.sendMessage(token, { chatId, text, keyboard }, signal)
          await finishSent(sql, { id: d.id, kind: d.kind, shopId: d.shop_id, orderId: d.order_id, text, messageId: sent.messageId, chatId: sent.chatId, mock: client.mode === 'mock', revision: d.revision })
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
          await finishSent(sql, { id: d.id, kind: d.kind, shopId: d.shop_id, orderId: d.order_id, text, messageId: Number(d.message_id), chatId: d.message_chat_id ?? chatId, mock: false, revision: d.revision })
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

  /** Starts the dispatcher loop (every replica runs one). */
  start(): void {
    if (this.running) return
    this.running = true
    this.loop = this.run()
  }

  /** Lets the loop look for work now instead of at the next interval. */
  wake(): void {
    this.wakeUp?.()
  }

  /** Stops claiming, waits for attempts in flight, then returns. */
  async stop(): Promise<void> {
    this.running = false
    this.wake()
    await this.loop
    await Promise.allSettled([...this.inFlight])
  }

  /** One pass: claim a batch and attempt it. Deliveries of one shop run in order, one at a time. */
  async runOnce(): Promise<number> {
    const { sql, config, log } = this.deps
    const claimed = await claimDueDeliveries(sql, this.owner, config.batchSize, config.leaseSec)
    if (claimed.length === 0) return 0
    const byShop = new Map<string, string[]>()
    for (const c of claimed) byShop.set(c.shop_id, [...(byShop.get(c.shop_id) ?? []), c.id])
    const queues = [...byShop.values()]
    const worker = async () => {
      for (let q = queues.shift(); q; q = queues.shift()) {
        for (const id of q) {
          if (!this.running) {
            await releaseLease(sql, id, this.owner)
            continue
          }
          try {
            await this.attempt(id)
          } catch (err) {
            log.error('delivery_attempt_error', { deliveryId: id, error: err })
            await releaseLease(sql, id, this.owner).catch(() => {})
          }
        }
      }
    }
    const p = Promise.all(Array.from({ length: Math.min(config.concurrency, queues.length) }, worker))
    this.inFlight.add(p)
    await p.finally(() => this.inFlight.delete(p))
    return claimed.length
  }

  private async run(): Promise<void> {
    while (this.running) {
      let n = 0
      try {
        n = await this.runOnce()
      } catch (err) {
        this.deps.log.warn('dispatcher_error', { error: err })
      }
      if (!this.running) break
      if (n >= this.deps.config.batchSize) continue
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.deps.config.intervalMs)
        this.wakeUp = () => {
          clearTimeout(t)
          resolve()
        }
      })
      this.wakeUp = null
    }
  }
}
