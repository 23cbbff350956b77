import { Elysia } from 'elysia'
import { errorBody } from './errors'

/**
 * Per-shop limits on what a client can make us do, so one shop (or a looping POS, or a stolen key)
 * cannot flood its chat or the service. Token buckets in this process, each budget divided by the
 * number of live replicas (replicas.ts), so N replicas together hold one budget; Telegram's own
 * per-chat pace is kept by the outbox.
 */
export type RateLimits = {
  /** POST /shops/{id}/orders: sustained per minute (0 disables) and burst. */
  ordersPerMinute: number
  ordersBurst: number
  /** Other POST/PATCH/DELETE under /shops/{id}/: sustained per minute (0 disables) and burst. */
  writesPerMinute: number
  writesBurst: number
  /** POST /shops/{id}/telegram/test (and its per-recipient variants): at most one per this many ms. */
  testIntervalMs: number
  /** This process' fraction of every budget (1 / live replicas, replicas.ts); 1 when unset. */
  share?: () => number
}

type Bucket = { tokens: number; at: number }
export type Limit = { perMs: number; burst: number }

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  /** `share`: this process' fraction of every budget (1 / live replicas, see replicas.ts). */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly share: () => number = () => 1,
  ) {}

  /** Takes one token; returns 0 when allowed, else the ms until one is available. */
  take(key: string, whole: Limit): number {
    const s = this.share()
    // one budget across replicas: each refills at its share, and holds at least one token of burst
    const limit = s >= 1 ? whole : { perMs: whole.perMs * s, burst: Math.max(1, whole.burst * s) }
    const now = this.now()
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: now }
    b.tokens = Math.min(limit.burst, b.tokens + (now - b.at) * limit.perMs)
    b.at = now
    this.buckets.set(key, b)
    if (b.tokens >= 1) {
      b.tokens -= 1
      return 0
    }
    if (this.buckets.size > 50_000) this.prune(limit)
    return Math.ceil((1 - b.tokens) / limit.perMs)
  }

  /** The ms until `key` has a token, without taking one (0: it has one now). */
  peek(key: string, limit: Limit): number {
    const b = this.buckets.get(key)
    if (!b) return 0
    const tokens = Math.min(limit.burst, b.tokens + (this.now() - b.at) * limit.perMs)
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / limit.perMs)
  }

  /** Drops buckets that have refilled completely: they carry no information. */
  prune(limit: Limit): void {
    const now = this.now()
    for (const [k, b] of this.buckets) if (b.tokens + (now - b.at) * limit.perMs >= limit.burst) this.buckets.delete(k)
  }
}

/** Which bucket a request draws from, or null when it is not limited. */
export function bucketOf(method: string, path: string, limits: RateLimits): { key: string; limit: Limit } | null {
  const m = /^\/shops\/([^/]+)(\/.*)$/.exec(path)
  if (!m || method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return null
  const [, shop, rest] = m
  if (method === 'POST' && /^\/telegram\/(chats\/[^/]+\/)?test$/.test(rest!)) {
    return limits.testIntervalMs > 0 ? { key: `${shop}:test`, limit: { perMs: 1 / limits.testIntervalMs, burst: 1 } } : null
  }
  if (method === 'POST' && rest === '/orders') {
    return limits.ordersPerMinute > 0 ? { key: `${shop}:orders`, limit: { perMs: limits.ordersPerMinute / 60_000, burst: limits.ordersBurst } } : null
  }
  return limits.writesPerMinute > 0 ? { key: `${shop}:writes`, limit: { perMs: limits.writesPerMinute / 60_000, burst: limits.writesBurst } } : null
}

/** Registered after auth, so only requests that would be served spend a shop's budget. */
export const rateLimit = (limits: RateLimits, limiter = new RateLimiter(Date.now, limits.share)) =>
  new Elysia({ name: 'rate-limit' }).onRequest(({ request, set }) => {
    const b = bucketOf(request.method, new URL(request.url).pathname, limits)
    if (!b) return
    const waitMs = limiter.take(b.key, b.limit)
    if (waitMs === 0) return
    set.status = 429
    set.headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)))
    set.headers['content-type'] = 'application/json; charset=utf-8'
    return errorBody('rate_limited', `Too many requests for this shop; retry in ${Math.max(1, Math.ceil(waitMs / 1000))} s`)
  })
