import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import { BackgroundLoop } from '../platform/loop'
import { recordEvent } from './record'
import { claimDueDeliveries, markDelivered, markFailed, pruneEvents, reencryptSecrets, releaseDelivery, type ClaimedDelivery } from './repository'
import { assertPublicHttps, UnsafeUrl } from './url-guard'

/** Endpoint secrets are encrypted like bot tokens, bound to this label instead of a shop id. */
export const SECRET_AAD = 'webhook-endpoint'

/** After a key rotation: every endpoint secret re-encrypted with the newest key (see `bun run keys:reencrypt`). */
export function reencryptWebhookSecrets(sql: Sql, cipher: TokenCipher) {
  return reencryptSecrets(sql, cipher.currentKeyId, (stored) => {
    try {
      return cipher.encrypt(cipher.decrypt(stored, SECRET_AAD), SECRET_AAD)
    } catch {
      return null
    }
  })
}

/**
 * Delays before retries 1, 2, … (Standard Webhooks' and Svix' shape): the first within 10 s, then
 * growing, summing past a day (≈ 31.6 h) before a delivery is `failed`.
 */
export const DEFAULT_RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 28_800_000, 28_800_000]

export type WebhookConfig = {
  timeoutMs: number
  retryDelaysMs: number[]
  /** An endpoint with nothing but failures for this long is switched off. */
  disableAfterSec: number
  concurrency: number
  leaseSec: number
  intervalMs: number
  eventRetentionDays: number
}

export const defaultWebhookConfig: WebhookConfig = {
  timeoutMs: 15_000,
  retryDelaysMs: DEFAULT_RETRY_DELAYS_MS,
  disableAfterSec: 3 * 24 * 3600,
  concurrency: 16,
  leaseSec: 60,
  intervalMs: 1000,
  eventRetentionDays: 35,
}

/** The delivery body: `{id, type, occurredAt, shopId, data}` (CONTRACT.md). */
export function eventBody(e: { event_id: string; type: string; occurred_at: Date; shop_id: string | null; data: unknown }) {
  return {
    id: eventIdOf(e.event_id),
    type: e.type,
    occurredAt: new Date(e.occurred_at).toISOString(),
    shopId: e.shop_id === null ? null : Number(e.shop_id),
    data: e.data,
  }
}

/** The public id of an event, also its `webhook-id` (the same on every retry). */
export const eventIdOf = (id: string | number) => `evt_${id}`

/** `webhook-signature` value: the current secret's signature, and the previous one's during its overlap. */
export function signatures(secrets: string[], msgId: string, at: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(msgId, at, body)).join(' ')
}

type Counters = { outcome: (o: 'delivered' | 'failed_attempt' | 'failed' | 'blocked') => void; disabled: () => void }

/**
 * The webhook outbox's own loop (never mixed with Telegram's pacing): claims due deliveries with
 * SKIP LOCKED leases, POSTs them signed, retries on its own schedule. Woken by NOTIFY `webhook_due`
 * from the fan-out trigger, so a committed event leaves at once.
 */
export class WebhookSender extends BackgroundLoop {
  readonly owner = `${hostname()}:${process.pid}:wh:${randomBytes(4).toString('hex')}`
  private listener: { unlisten(): Promise<void> } | null = null
  private readonly inFlight = new Set<Promise<unknown>>()
  private lastPrune = 0

  constructor(
    private readonly deps: {
      sql: Sql
      cipher: TokenCipher
      log: Logger
      config: WebhookConfig
      counters?: Counters
      fetch?: typeof fetch
      /** Resolves a host for the SSRF check (tests point it at fixed answers). */
      resolve?: (host: string) => Promise<string[]>
    },
  ) {
    super()
  }

  /**
   * A lease outlasts its attempt: the deadline plus time for the write after it. A lease shorter than
   * WEBHOOK_TIMEOUT_MS (up to 60 s, the lease's default) expired mid-attempt, and this process (or a
   * replica) claimed the delivery again and sent it a second time while the first was still waiting.
   */
  get leaseSec(): number {
    return Math.max(this.deps.config.leaseSec, Math.ceil(this.deps.config.timeoutMs / 1000) + 30)
  }

  /** Attempts one claimed delivery and records its outcome. Never throws for the receiver's failure. */
  async attempt(d: ClaimedDelivery): Promise<void> {
    const { sql, cipher, log, config, counters } = this.deps
    const msgId = eventIdOf(d.event_id)
    const body = JSON.stringify(eventBody(d))
    let status: number | null = null
    let error: string
    try {
      // Endpoints a shop key registered are held to public https on every attempt (DNS can change).
      if (d.created_by.startsWith('api_key')) await assertPublicHttps(d.url, this.deps.resolve)
      const now = new Date()
      const secrets = [cipher.decrypt(d.secret, SECRET_AAD)]
      if (d.previous_secret && d.previous_secret_until && d.previous_secret_until > now) secrets.push(cipher.decrypt(d.previous_secret, SECRET_AAD))
      const res = await (this.deps.fetch ?? fetch)(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'posiflora-telegram-webhooks/1',
          'webhook-id': msgId,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signatures(secrets, msgId, now, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(config.timeoutMs),
      })
      status = res.status
      await res.body?.cancel().catch(() => {})
      if (status >= 200 && status < 300) {
        await markDelivered(sql, d.id, this.owner, status)
        counters?.outcome('delivered')
        return
      }
      error = `HTTP ${status}`
    } catch (err) {
      if (err instanceof UnsafeUrl) counters?.outcome('blocked')
      const e = err as Error
      error =
        err instanceof UnsafeUrl
          ? `blocked: ${e.message}`
          : e.name === 'TimeoutError'
            ? `no answer within ${config.timeoutMs / 1000} s`
            : `network: ${e.message}`
    }
    const delay = config.retryDelaysMs[d.attempts - 1]
    const retryAt = delay === undefined ? null : new Date(Date.now() + delay)
    const r = await markFailed(sql, { id: d.id, owner: this.owner, status, error, retryAt, disableAfterSec: config.disableAfterSec })
    counters?.outcome(retryAt ? 'failed_attempt' : 'failed')
    log.info('webhook_attempt_failed', { deliveryId: d.id, endpointId: d.endpoint_id, eventId: msgId, attempts: d.attempts, status, error, final: !retryAt })
    if (r.disabled) {
      counters?.disabled()
      log.warn('webhook_endpoint_disabled', { endpointId: r.disabled.id, shopId: r.disabled.shop_id })
      await recordEvent(sql, {
        shopId: r.disabled.shop_id === null ? null : Number(r.disabled.shop_id),
        type: 'webhook.disabled',
        data: { endpointId: Number(r.disabled.id), url: r.disabled.url, reason: 'failing' },
      })
    }
  }

  /** One pass for tests and tools: claim what is due and attempt it all. */
  async runOnce(): Promise<number> {
    const claimed = await claimDueDeliveries(this.deps.sql, this.owner, this.deps.config.concurrency, this.leaseSec)
    await Promise.all(claimed.map((d) => this.guarded(d)))
    return claimed.length
  }

  private guarded(d: ClaimedDelivery): Promise<void> {
    return this.attempt(d).catch(async (error) => {
      this.deps.log.error('webhook_attempt_error', { deliveryId: d.id, error })
      await releaseDelivery(this.deps.sql, d.id, this.owner).catch(() => {})
    })
  }

  protected async afterStop(): Promise<void> {
    await Promise.allSettled([...this.inFlight])
    const l = this.listener
    this.listener = null
    await l?.unlisten().catch(() => {})
  }

  protected async run(): Promise<void> {
    const { sql, log, config } = this.deps
    while (this.running) {
      this.wakePending = false
      if (!this.listener)
        this.listener = await sql
          .listen(
            'webhook_due',
            () => this.wake(),
            () => this.wake(),
          )
          .catch((err) => {
            log.warn('webhook_listen_failed', { error: err })
            return null
          })
      if (Date.now() - this.lastPrune > 3600_000) {
        this.lastPrune = Date.now()
        await pruneEvents(sql, config.eventRetentionDays).catch((err) => log.warn('event_prune_failed', { error: err }))
      }
      const free = config.concurrency - this.inFlight.size
      if (free > 0) {
        try {
          const claimed = await claimDueDeliveries(sql, this.owner, free, this.leaseSec)
          for (const d of claimed) {
            const p = this.guarded(d).finally(() => {
              this.inFlight.delete(p)
              this.wake()
            })
            this.inFlight.add(p)
          }
        } catch (err) {
          log.warn('webhook_claim_error', { error: err })
        }
      }
      if (!this.running) break
      if (this.wakePending) continue
      await this.sleep(config.intervalMs)
    }
  }
}
