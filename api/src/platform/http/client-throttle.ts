import { type Limit, RateLimiter } from './rate-limit'

/**
 * Per client address budgets for what an attacker would repeat: trading Telegram data or a launch
 * token for a session (`POST /session`), and presenting credentials that do not work. Token buckets
 * in this process, like the per-shop limits; a refused address gets 429 `rate_limited` with Retry-After.
 */
export type ClientLimits = {
  /** POST /session per minute per address (0 disables) and burst. */
  sessionPerMinute: number
  sessionBurst: number
  /** Failed credentials per minute per address (0 disables) and burst. */
  failuresPerMinute: number
  failuresBurst: number
}

const limitOf = (perMinute: number, burst: number): Limit | null => (perMinute > 0 ? { perMs: perMinute / 60_000, burst } : null)

export class ClientThrottle {
  private readonly session: Limit | null
  private readonly failures: Limit | null

  constructor(
    limits: ClientLimits,
    private readonly limiter = new RateLimiter(),
  ) {
    this.session = limitOf(limits.sessionPerMinute, limits.sessionBurst)
    this.failures = limitOf(limits.failuresPerMinute, limits.failuresBurst)
  }

  /** One `POST /session` attempt: 0 when allowed, else the ms to wait. */
  openSession(address: string): number {
    return this.session ? this.limiter.take(`session:${address}`, this.session) : 0
  }

  /** The ms this address must wait before presenting another credential (0: now). */
  blocked(address: string): number {
    return this.failures ? this.limiter.peek(`fail:${address}`, this.failures) : 0
  }

  /** A credential from this address did not work. */
  failed(address: string): void {
    if (this.failures) this.limiter.take(`fail:${address}`, this.failures)
  }
}

type Server = { requestIP?: (r: Request) => { address: string } | null } | null | undefined

/** The peer address of a request (in-process requests, as the tests make them, share one). */
export const clientAddress = (server: Server, request: Request): string => server?.requestIP?.(request)?.address ?? 'local'
