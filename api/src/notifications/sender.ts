import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { isDatabaseUnavailable, type Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import { errorCodeOf, TelegramError, type ErrorCode, type Keyboard, type TelegramClient } from '../bot-api'
import { renderOrderMessage, renderStatusLine } from './message'
import { markUnaccepted } from './courier-outbox'
import { renderCourierCard, renderCourierCardRetired, renderCourierReport, renderUnaccepted, type DeliveryOutcome } from './courier-messages'
import { deliveriesOn, renderReminder, renderSummary } from './summary'
import {
  finishFailed,
  finishSent,
  finishSkipped,
  loadNotification,
  migrateChat,
  paceMs,
  postpone,
  releaseLease,
  type NotificationRow,
  type Pacing,
} from './outbox'
import { inQuietHours } from './quiet-hours'
import type { TokenCipher } from '../platform/crypto'
import type { Metrics } from '../platform/metrics'

export type SenderConfig = {
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

export const defaultSenderConfig: SenderConfig = {
  timeoutMs: 4000,
  baseDelayMs: 2000,
  maxDelayMs: 600_000,
  maxAttempts: 12,
  maxAgeMs: 24 * 3600_000,
  leaseSec: 30,
  intervalMs: 500,
  concurrency: 32,
  chatIntervalMs: 1000,
  groupIntervalMs: 1000,
  groupPerMinute: 20,
}

/** How long a status edit waits for the notification it edits before looking again. */
const STATUS_EDIT_WAIT_MS = 2000

export type AttemptOutcome = { status: 'sent' | 'failed' | 'pending'; error?: string; errorCode?: ErrorCode; retryAt?: Date | null }

export type KeyboardFor = (d: NotificationRow) => Keyboard | undefined

/**
 * One attempt of a notification (or of the edit of its message) and what follows from its outcome:
 * transient failures back off exponentially with jitter (429: exactly `retry_after`), a migrated
 * group is followed and resent at once, terminal failures stop. The request makes the first attempt;
 * the `Dispatcher` makes the others.
 *
 * Duplicate window: the Bot API has no idempotency key. If the process dies while a send is in
 * flight or before its SENT commits, the lease expires and the message is sent again. Every attempt
 * is bounded by `timeoutMs`, far below the lease, so a live worker never loses its lease mid-send,
 * and a SENT that cannot be written right now is retried while the lease lasts (`recordSent`).
 */
export class Sender {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  private readonly background = new Set<Promise<unknown>>()

  constructor(
    private readonly deps: {
      sql: Sql
      client: TelegramClient
      cipher: TokenCipher
      log: Logger
      config: SenderConfig
      keyboard?: KeyboardFor
      random?: () => number
      metrics?: Metrics
    },
  ) {}

  get config() {
    return this.deps.config
  }

  /** The pacing interval of a chat (the rule lives in outbox.ts, next to its SQL twin). */
  paceFor(chatId: string): number {
    return paceMs(chatId, this.deps.config)
  }

  /** Backoff before attempt n+1 after n failures: exponential, capped, with ±50% jitter. */
  backoffMs(attempts: number): number {
    const { baseDelayMs, maxDelayMs } = this.deps.config
    const raw = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempts - 1))
    return Math.round(raw * (0.5 + (this.deps.random ?? Math.random)()))
  }

  /** One attempt of a delivery whose lease the caller holds. Never throws for a Telegram failure. */
  async attempt(delivery: string | NotificationRow, signal?: AbortSignal, opts: { firstAttempt?: boolean } = {}): Promise<AttemptOutcome> {
    // The dispatcher's claim has already taken the chat's pacing slot; the request's own first attempt
    // takes it only if it is free now, and otherwise leaves the row to the dispatcher (no 429).
    const { sql, client, cipher, log } = this.deps
    const started = Date.now()
    const d = typeof delivery === 'string' ? await loadNotification(sql, delivery, opts.firstAttempt ? this.deps.config : undefined) : delivery
    if (d?.state !== 'pending') return { status: d?.state === 'done' ? 'sent' : 'failed', error: 'not pending' }
    if (opts.firstAttempt && d.chat_ref && d.chat_id && !d.slot_taken) {
      await releaseLease(sql, d.id, this.owner)
      return { status: 'pending' }
    }
    if (d.kind === 'delivery_reminder' && d.status !== 'new' && d.status !== 'accepted') {
      // already assembling, out for delivery, done or cancelled: nobody needs reminding
      await finishSkipped(sql, d.id, this.owner, `no reminder: the order is ${d.status}`)
      return { status: 'sent' }
    }
    if (d.kind === 'order_unaccepted' && d.status !== 'new') {
      // accepted (or cancelled) in time: the second call is not needed
      await finishSkipped(sql, d.id, this.owner, `no second call: the order is ${d.status}`)
      return { status: 'sent' }
    }
    if (d.kind === 'courier_card' && !d.message_id && (d.status === 'done' || d.status === 'cancelled')) {
      await finishSkipped(sql, d.id, this.owner, `no delivery card: the order is ${d.status}`)
      return { status: 'sent' }
    }
    const text = !d.order_id
      ? ''
      : renderOrderMessage(
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
            items: d.items,
            cardText: d.card_text,
            surprise: d.surprise,
            status: d.status,
            acceptedBy: d.accepted_by,
            acceptedAt: d.accepted_at,
            courierName: d.courier_name,
          },
          d.shop_name,
          d.time_zone,
        )
    const fields = { shopId: d.shop_id, orderId: d.order_id, deliveryId: d.id, kind: d.kind, attempt: d.attempts + 1 }
    const m = this.deps.metrics
    const fail = async (errorCode: ErrorCode, error: string, retryAt: Date | null): Promise<AttemptOutcome> => {
      m?.attempts.inc({ kind: d.kind, outcome: retryAt ? 'retry' : 'failed', error_code: errorCode })
      if (errorCode === 'rate_limited') m?.rateLimited.inc()
      const recorded = await finishFailed(sql, {
        id: d.id,
        owner: this.owner,
        kind: d.kind,
        shopId: d.shop_id,
        orderId: d.order_id,
        chatRef: d.chat_ref,
        text,
        error,
        errorCode,
        retryAt,
        revision: d.revision,
      })
      log.warn(retryAt ? 'delivery_retry_scheduled' : 'delivery_failed', { ...fields, errorCode, error, retryAt, recorded })
      return { status: 'failed', error, errorCode, retryAt }
    }
    if (!d.bot_token || !d.chat_id || !d.enabled) {
      if (!d.bot_token) return fail('not_connected', 'Telegram не подключён', null)
      return d.enabled ? fail('no_chat', 'Чат не подключён', null) : fail('disabled', 'Уведомления выключены', null)
    }
    let token: string
    try {
      token = cipher.decrypt(d.bot_token, d.shop_id)
    } catch {
      return fail('token_unreadable', 'Не удалось расшифровать токен бота: проверьте ENCRYPTION_KEY и сохраните токен заново', null)
    }
    if (d.kind === 'order_status' && !d.message_id) {
      // Nothing to edit yet. While the notification itself is still on its way it will carry the
      // current status anyway, but it may be in flight with the old one: look again shortly.
      if (d.order_delivery_state === 'pending') {
        const until = new Date(Date.now() + STATUS_EDIT_WAIT_MS)
        await postpone(sql, d.id, this.owner, until)
        return { status: 'failed', error: 'ждём отправки уведомления о заказе', retryAt: until }
      }
      if (d.order_delivery_state !== 'done' && d.order_delivery_state !== null) {
        await finishSkipped(sql, d.id, this.owner, 'уведомление о заказе не было отправлено: редактировать нечего')
        return { status: 'sent' }
      }
    }
    // A recipient that never got the order (it follows statuses or cancellations only) gets one line.
    const statusLine = d.kind === 'order_status' && !d.message_id && d.order_delivery_state === null
    let body = statusLine ? renderStatusLine({ number: d.number, status: d.status, acceptedBy: d.accepted_by }, d.shop_name) : text
    let keyboard = statusLine ? undefined : this.deps.keyboard?.(d)
    let replyToMessageId: number | null = null
    let photo: string | null = null
    const courierView = {
      number: d.number,
      deliveryDate: d.delivery_date,
      deliveryTime: d.delivery_time,
      address: d.address,
      recipientName: d.recipient_name,
      recipientPhone: d.recipient_phone,
      comment: d.comment,
      surprise: d.surprise,
    }
    // a courier card sent before staff took its courier off is retired, and the card is offered anew
    const reopen = d.kind === 'courier_card' && !!d.message_id && !!d.courier_released_at && !!d.message_sent_at && d.message_sent_at < d.courier_released_at
    if (d.kind === 'courier_card') {
      body = renderCourierCard({ ...courierView, status: d.status, courierName: d.courier_name, courierAt: d.courier_at }, d.shop_name, d.time_zone)
    } else if (d.kind === 'courier_report') {
      const outcome = d.due_key!.split(':')[0] as DeliveryOutcome
      body = renderCourierReport({ number: d.number, courierName: d.courier_name, address: d.address }, outcome)
      photo = outcome === 'delivered' ? d.delivery_photo : null
      keyboard = undefined
      replyToMessageId = d.message_id ? Number(d.message_id) : null
    } else if (d.kind === 'order_unaccepted') {
      await markUnaccepted(sql, d.shop_id, d.order_id, d.accept_within_minutes)
      body = renderUnaccepted({ number: d.number, createdAt: d.created_at }, d.accept_within_minutes ?? 0, d.time_zone)
      replyToMessageId = d.message_id ? Number(d.message_id) : null
    } else if (d.kind === 'daily_summary') {
      body = renderSummary(d.shop_name, d.due_key!, await deliveriesOn(sql, d.shop_id, d.due_key!))
      keyboard = undefined
    } else if (d.kind === 'delivery_reminder') {
      const minutes = d.slot_starts_at ? Math.max(0, Math.round((new Date(d.slot_starts_at).getTime() - Date.now()) / 60_000)) : 0
      body = renderReminder({ number: d.number, status: d.status, deliveryTime: d.delivery_time, address: d.address, recipientName: d.recipient_name }, minutes)
      replyToMessageId = d.message_id ? Number(d.message_id) : null
    }
    // not the order's own message: reminders, summaries and status lines are not edited later
    const standalone =
      statusLine || d.kind === 'delivery_reminder' || d.kind === 'daily_summary' || d.kind === 'courier_report' || d.kind === 'order_unaccepted'
    // the second call for an unaccepted order rings even inside quiet hours: that is its point
    const silent = d.kind !== 'order_unaccepted' && inQuietHours(new Date(), d.time_zone, d.quiet_from, d.quiet_to)
    const edits = (d.kind === 'order_status' || (d.kind === 'courier_card' && !reopen)) && !!d.message_id && !!d.message_chat_id
    const editText = d.kind === 'courier_card' ? body : text
    const threadId = d.thread_id ? Number(d.thread_id) : null
    const base = { id: d.id, kind: d.kind, shopId: d.shop_id, orderId: d.order_id, chatRef: d.chat_ref, mock: client.mode === 'mock', revision: d.revision }
    let chatId = d.chat_id
    // A migrated group is followed at most twice in one attempt (it migrates once in reality).
    for (let hop = 0; hop < 3; hop++) {
      try {
        const callStarted = performance.now()
        if (edits && d.message_id && d.message_chat_id) {
          await client.editMessageText(token, { chatId: d.message_chat_id, messageId: Number(d.message_id), text: editText, keyboard }, signal)
          await this.recordSent(started, {
            ...base,
            text: editText,
            messageId: Number(d.message_id),
            chatId: d.message_chat_id,
            paceMs: this.paceFor(chatId),
            groupPerMinute: this.deps.config.groupPerMinute,
          })
        } else {
          if (reopen && d.message_id && d.message_chat_id) {
            // the old card loses its button; a failure here must not keep the new card from going out
            await client
              .editMessageText(token, { chatId: d.message_chat_id, messageId: Number(d.message_id), text: renderCourierCardRetired(d.number) }, signal)
              .catch((err) => log.warn('courier_card_retire_failed', { ...fields, error: err }))
          }
          const sent = photo
            ? await client.sendPhoto(token, { chatId, photo, caption: body, threadId, silent, replyToMessageId }, signal)
            : await client.sendMessage(token, { chatId, text: body, keyboard, threadId, silent, replyToMessageId }, signal)
          await this.recordSent(started, {
            ...base,
            text: body,
            messageId: sent.messageId,
            chatId: sent.chatId,
            paceMs: this.paceFor(chatId),
            groupPerMinute: this.deps.config.groupPerMinute,
            isStatusLine: standalone,
            // the new-order message already shows the current status: a pending edit to it is moot
            settleEditRevision: d.kind === 'order' ? d.pending_edit_revision : null,
          })
        }
        log.info('delivery_sent', { ...fields, chatRef: d.chat_ref, silent, mock: client.mode === 'mock' })
        m?.sendSeconds.observe(
          { method: d.kind === 'order_status' && d.message_id ? 'editMessageText' : 'sendMessage' },
          (performance.now() - callStarted) / 1000,
        )
        m?.attempts.inc({ kind: d.kind, outcome: 'sent', error_code: '' })
        if (d.kind === 'order') m?.newOrderLag.observe((Date.now() - new Date(d.created_at).getTime()) / 1000)
        return { status: 'sent' }
      } catch (err) {
        if (!(err instanceof TelegramError)) throw err
        const f = err.failure
        if (f.kind === 'migrated') {
          await migrateChat(sql, Number(d.shop_id), d.chat_ref, chatId, f.newChatId)
          log.info('chat_migrated', { ...fields, newChatId: f.newChatId })
          chatId = f.newChatId
          continue
        }
        if (f.kind === 'terminal' && f.code === 'not_modified') {
          await this.recordSent(started, {
            ...base,
            mock: false,
            text: editText,
            messageId: Number(d.message_id),
            chatId: d.message_chat_id ?? chatId,
            paceMs: this.paceFor(chatId),
            groupPerMinute: this.deps.config.groupPerMinute,
          })
          return { status: 'sent' }
        }
        if (f.kind === 'terminal' && f.code === 'message_gone' && (d.kind === 'order_status' || d.kind === 'courier_card')) {
          // The message was deleted: fall back to one new message with the current status.
          d.message_id = null
          continue
        }
        if (f.kind === 'terminal') return fail(errorCodeOf(f), f.reason, null)
        const attempts = d.attempts + 1
        const tooOld = Date.now() - new Date(d.created_at).getTime() > this.deps.config.maxAgeMs
        if (attempts >= this.deps.config.maxAttempts || tooOld) return fail('attempts_exhausted', `${f.reason}; попытки исчерпаны (${attempts})`, null)
        const delay = f.retryAfterSec !== undefined ? f.retryAfterSec * 1000 : this.backoffMs(attempts)
        return fail(errorCodeOf(f), f.reason, new Date(Date.now() + delay))
      }
    }
    return fail('chat_not_found', 'Чат переносится слишком много раз', null)
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
    this.background.add(retry)
    void retry.finally(() => this.background.delete(retry))
  }

  /** Waits for SENT records still being retried in the background (graceful stop). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.background])
  }
}
