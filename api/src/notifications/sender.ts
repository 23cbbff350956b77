import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { isDatabaseUnavailable, type Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import { errorCodeOf, TelegramError, type ErrorCode, type SentMessage, type TelegramClient } from '../bot-api'
import type { KindContext, MessageKinds, Outgoing } from './kinds'
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
import { BatchCompleter } from './batch-completer'
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
  concurrency: 64,
  chatIntervalMs: 1000,
  groupIntervalMs: 1000,
  groupPerMinute: 20,
}

export type AttemptOutcome = { status: 'sent' | 'failed' | 'pending'; error?: string; errorCode?: ErrorCode; retryAt?: Date | null }

/**
 * One attempt of a notification (or of the edit of its message) and what follows from its outcome:
 * transient failures back off exponentially with jitter (429: exactly `retry_after`), a migrated
 * group is followed and resent at once, terminal failures stop. The request makes the first attempt;
 * the `Dispatcher` makes the others. What is sent is the kind's (`MessageKind`): this class is the
 * machine every kind shares.
 *
 * Duplicate window: the Bot API has no idempotency key. If the process dies while a send is in
 * flight or before its SENT commits, the lease expires and the message is sent again. Every attempt
 * is bounded by `timeoutMs`, far below the lease, so a live worker never loses its lease mid-send,
 * and a SENT that cannot be written right now is retried while the lease lasts (`recordSent`).
 */
export class Sender {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  private readonly background = new Set<Promise<unknown>>()
  /** The send in flight per chat of this process (shop:chat → outbox id). */
  private readonly sending = new Map<string, string>()
  /** New-order sends are recorded in batches (batch-completer.ts); the others one by one. */
  readonly completer: BatchCompleter

  constructor(
    private readonly deps: {
      sql: Sql
      client: TelegramClient
      cipher: TokenCipher
      log: Logger
      config: SenderConfig
      kinds: MessageKinds
      random?: () => number
      metrics?: Metrics
    },
  ) {
    this.completer = new BatchCompleter({ sql: deps.sql, log: deps.log })
  }

  get config() {
    return this.deps.config
  }

  get kinds() {
    return this.deps.kinds
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
    const { sql, client, cipher, log, kinds } = this.deps
    const started = Date.now()
    const d = typeof delivery === 'string' ? await loadNotification(sql, kinds, delivery, opts.firstAttempt ? this.deps.config : undefined) : delivery
    if (d?.state !== 'pending') return { status: d?.state === 'done' ? 'sent' : 'failed', error: 'not pending' }
    if (opts.firstAttempt && d.chat_ref && d.chat_id && !d.slot_taken) {
      await releaseLease(sql, d.id, this.owner)
      return { status: 'pending' }
    }
    const kind = kinds.get(d.kind)
    const ctx: KindContext = { sql, metrics: this.deps.metrics }
    const moot = kind?.moot?.(d)
    if (moot) {
      await finishSkipped(sql, d.id, this.owner, moot)
      return { status: 'sent' }
    }
    const text = kind?.logText?.(d) ?? ''
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
        privateChatRef: d.private_chat_ref,
        text,
        error,
        errorCode,
        retryAt,
        revision: d.revision,
      })
      log.warn(retryAt ? 'delivery_retry_scheduled' : 'delivery_failed', { ...fields, errorCode, error, retryAt, recorded })
      if (!retryAt && recorded)
        await Promise.resolve(kind?.afterFailed?.(d, errorCode, ctx)).catch((err) => log.error('after_failed_failed', { ...fields, error: err }))
      return { status: 'failed', error, errorCode, retryAt }
    }
    if (!kind) return fail('rejected', `Неизвестный вид сообщения: ${d.kind}`, null)
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
    let plan = await kind.plan(d, ctx)
    if ('skip' in plan) {
      await finishSkipped(sql, d.id, this.owner, plan.skip)
      return { status: 'sent' }
    }
    if ('wait' in plan) {
      await postpone(sql, d.id, this.owner, plan.wait)
      return { status: 'failed', error: plan.reason, retryAt: plan.wait }
    }
    const silent = !plan.loud && inQuietHours(new Date(), d.time_zone, d.quiet_from, d.quiet_to)
    const threadId = d.thread_id ? Number(d.thread_id) : null
    const base = {
      id: d.id,
      kind: d.kind,
      shopId: d.shop_id,
      orderId: d.order_id,
      chatRef: d.chat_ref,
      privateChatRef: d.private_chat_ref,
      mock: client.mode === 'mock',
      revision: d.revision,
    }
    let chatId = d.chat_id
    // A migrated group is followed at most twice in one attempt (it migrates once in reality).
    for (let hop = 0; hop < 3; hop++) {
      const out = plan.send
      const pace = { paceMs: this.paceFor(chatId), groupPerMinute: this.deps.config.groupPerMinute }
      // not the order's own message (reminders, summaries, status lines, a person's messages): never edited later
      const isStatusLine = !plan.ownMessage
      // One send in flight per paced chat, also within this process: the database's rules (the slot,
      // the in-flight lease) keep claims apart, and this keeps two attempts that got here anyway (the
      // peak bench saw pairs 0 ms apart under load) from costing the chat a 429. The later one waits.
      const chatKey = `${d.shop_id}:${chatId}`
      if (pace.paceMs > 0 && this.sending.has(chatKey)) {
        await postpone(sql, d.id, this.owner, new Date(Date.now() + pace.paceMs))
        log.info('delivery_deferred_chat_busy', { ...fields, chatId })
        return { status: 'pending' }
      }
      this.sending.set(chatKey, d.id)
      try {
        const callStarted = performance.now()
        let sent: SentMessage
        if (out.method === 'editMessageText') {
          await client.editMessageText(token, { chatId: out.chatId, messageId: out.messageId, text: out.text, keyboard: out.keyboard }, signal)
          sent = { messageId: out.messageId, chatId: out.chatId }
          await this.recordSent(started, { ...base, text: out.text, ...sent, ...pace })
        } else {
          sent = await this.deliver(token, chatId, out, { threadId, silent }, signal)
          await this.recordSent(started, {
            ...base,
            text: 'text' in out ? out.text : 'caption' in out ? (out.caption ?? '') : '',
            ...sent,
            ...pace,
            isStatusLine,
            settleEditRevision: plan.settleEditRevision ?? null,
          })
        }
        log.info('delivery_sent', { ...fields, chatRef: d.chat_ref, silent, mock: client.mode === 'mock' })
        m?.sendSeconds.observe({ method: out.method }, (performance.now() - callStarted) / 1000)
        m?.attempts.inc({ kind: d.kind, outcome: 'sent', error_code: '' })
        // the message is out and recorded: a failure here must not make the row look unsent (a resend)
        await Promise.resolve(kind.afterSent?.(d, sent, { ...ctx, client, token })).catch((error) => log.error('after_sent_failed', { ...fields, error }))
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
        if (f.kind === 'terminal' && f.code === 'not_modified' && out.method === 'editMessageText') {
          await this.recordSent(started, { ...base, mock: false, text: out.text, messageId: out.messageId, chatId: out.chatId, ...pace })
          return { status: 'sent' }
        }
        if (f.kind === 'terminal' && f.code === 'message_gone' && out.method === 'editMessageText' && kind.messageGone) {
          const instead = await kind.messageGone(d, ctx)
          if (instead && 'send' in instead) {
            plan = instead
            continue
          }
        }
        if (f.kind === 'terminal') return fail(errorCodeOf(f), f.reason, null)
        const attempts = d.attempts + 1
        const tooOld = Date.now() - new Date(d.created_at).getTime() > this.deps.config.maxAgeMs
        if (attempts >= this.deps.config.maxAttempts || tooOld) return fail('attempts_exhausted', `${f.reason}; попытки исчерпаны (${attempts})`, null)
        const delay = f.retryAfterSec !== undefined ? f.retryAfterSec * 1000 : this.backoffMs(attempts)
        return fail(errorCodeOf(f), f.reason, new Date(Date.now() + delay))
      } finally {
        if (this.sending.get(chatKey) === d.id) this.sending.delete(chatKey)
      }
    }
    return fail('chat_not_found', 'Чат переносится слишком много раз', null)
  }

  /** A new message of any form: text, a photo by its file_id, or a copy of a message of another chat. */
  private deliver(
    token: string,
    chatId: string,
    out: Exclude<Outgoing, { method: 'editMessageText' }>,
    o: { threadId: number | null; silent: boolean },
    signal?: AbortSignal,
  ): Promise<SentMessage> {
    const { client } = this.deps
    switch (out.method) {
      case 'sendMessage':
        return client.sendMessage(token, { chatId, text: out.text, keyboard: out.keyboard, replyToMessageId: out.replyToMessageId, ...o }, signal)
      case 'sendPhoto':
        return client.sendPhoto(
          token,
          { chatId, photo: out.photo, caption: out.caption, keyboard: out.keyboard, replyToMessageId: out.replyToMessageId, ...o },
          signal,
        )
      case 'copyMessage':
        return client.copyMessage(
          token,
          { chatId, fromChatId: out.fromChatId, messageId: out.messageId, caption: out.caption, replyToMessageId: out.replyToMessageId, ...o },
          signal,
        )
    }
  }

  /**
   * Telegram has the message: record it. If the database is away right now, answer "sent" anyway and
   * keep trying in the background while our lease lasts — giving up early would let the lease
   * expire and the message be sent a second time.
   */
  private async recordSent(started: number, p: Parameters<typeof finishSent>[1]): Promise<void> {
    const { sql, log, config } = this.deps
    try {
      return await (BatchCompleter.takes(p) ? this.completer.finish(p) : finishSent(sql, p))
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
