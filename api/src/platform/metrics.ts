import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Sql } from './db/client'

/**
 * What an operator watches on a peak day, in Prometheus text format at GET /metrics: the outbox
 * (depth by state and kind, age of the oldest due notification), every attempt by outcome and error
 * code, Telegram's 429s, the Bot API call latency, the new-order lag (order committed → Telegram
 * accepted its message), and HTTP request duration by route. One registry per process (no globals),
 * so tests and several app instances in one process do not collide.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly attempts = new Counter({
    name: 'notify_attempts_total',
    help: 'Bot API attempts by kind, outcome and error code',
    labelNames: ['kind', 'outcome', 'error_code'] as const,
    registers: [this.registry],
  })
  readonly rateLimited = new Counter({ name: 'notify_telegram_429_total', help: '429 Too Many Requests answers from Telegram', registers: [this.registry] })
  readonly sendSeconds = new Histogram({
    name: 'notify_telegram_call_seconds',
    help: 'Duration of one Bot API call (sendMessage / editMessageText)',
    labelNames: ['method'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
    registers: [this.registry],
  })
  readonly newOrderLag = new Histogram({
    name: 'notify_new_order_lag_seconds',
    help: 'From the order being committed to Telegram accepting its new-order message (per recipient)',
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300],
    registers: [this.registry],
  })
  readonly httpSeconds = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  })

  readonly webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered, failed_attempt = will retry, failed = gave up, blocked = unsafe address)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly webhookEndpointsDisabled = new Counter({
    name: 'webhook_endpoints_disabled_total',
    help: 'Endpoints switched off automatically after days of nothing but failures',
    registers: [this.registry],
  })

  constructor(sql: Sql) {
    new Gauge({
      name: 'webhook_oldest_undelivered_seconds',
      help: 'Per enabled endpoint: age of its oldest event not yet delivered (0 when none)',
      labelNames: ['endpoint'] as const,
      registers: [this.registry],
      async collect() {
        this.reset()
        for (const r of await sql<{ id: string; s: number | null }[]>`
          select w.id, (select extract(epoch from now() - min(d.created_at))::float8 from webhook_deliveries d
                        where d.endpoint_id = w.id and d.state = 'pending') as s
          from webhook_endpoints w where w.enabled`)
          this.set({ endpoint: r.id }, Math.max(0, r.s ?? 0))
      },
    })
    // Read at scrape time: the database is the truth, and done rows (which grow forever) are not counted.
    new Gauge({
      name: 'notify_outbox_depth',
      help: 'Outbox rows not yet done, by state and kind',
      labelNames: ['state', 'kind'] as const,
      registers: [this.registry],
      async collect() {
        this.reset()
        for (const r of await sql<{ state: string; kind: string; n: number }[]>`
          select state, kind, count(*)::int as n from telegram_outbox where state <> 'done' group by 1, 2`)
          this.set({ state: r.state, kind: r.kind }, r.n)
      },
    })
    new Gauge({
      name: 'notify_outbox_oldest_due_seconds',
      help: 'Age of the oldest due, pending notification (0 when none)',
      registers: [this.registry],
      async collect() {
        const [r] = await sql<{ s: number | null }[]>`
          select extract(epoch from now() - min(next_attempt_at))::float8 as s from telegram_outbox where state = 'pending' and next_attempt_at <= now()`
        this.set(Math.max(0, r?.s ?? 0))
      },
    })
  }

  /** A gauge read from the process at scrape time (e.g. open live streams, owned by a feature). */
  gaugeOf(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read())
      },
    })
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics()
  }
}
