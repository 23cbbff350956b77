import type { Sql } from '../platform/db/client'
import { HttpError } from '../platform/http/errors'
import type { Logger } from '../platform/log'

/** What a page is sent when something of its shop changes: the same shapes its GET calls return. */
export type LiveSources = {
  order(shopId: number, orderId: number): Promise<unknown | null>
  /** `links`: with the start code's links (the owner's and the operator's view). */
  status(shopId: number, links: boolean): Promise<unknown>
  chats(shopId: number): Promise<unknown>
}

/**
 * Who is watching a stream: the session behind it (null for the operator), so ending the session
 * closes the stream, and what its kind may see (a manager sees no links and no chats).
 */
export type Viewer = { sessionId: number | null; links: boolean; chats: boolean }

export type LiveLimits = {
  /** Streams this process holds at most (each is one open HTTP response). */
  maxStreams: number
  /** Streams one shop holds at most in this process (tabs, phones, the Mini App). */
  maxPerShop: number
  /** A stream ends after this long; the page reconnects (and its credential is checked again). */
  lifetimeMs: number
  heartbeatMs: number
  /** Changes arriving within this window are sent together (a burst of edits is one update). */
  flushMs: number
  /** A client that has this many bytes unread is cut off (it reconnects and reloads). */
  maxBufferedBytes: number
}

export const defaultLiveLimits: LiveLimits = {
  maxStreams: 1000,
  maxPerShop: 20,
  lifetimeMs: 10 * 60_000,
  heartbeatMs: 15_000,
  flushMs: 40,
  maxBufferedBytes: 256 * 1024,
}

type Stream = {
  shopId: number
  viewer: Viewer
  controller: ReadableStreamDefaultController<Uint8Array>
  timers: ReturnType<typeof setInterval>[]
  closed: boolean
}
type Pending = { orders: Set<number>; status: boolean; chats: boolean }

const LEASE_SEC = 120
const RENEW_MS = 60_000
/** Streams of sessions that ended are closed on NOTIFY; this re-check catches a missed one. */
const SESSION_CHECK_MS = 5_000
const OPERATOR: Viewer = { sessionId: null, links: true, chats: true }
const MAX_ORDERS_PER_FLUSH = 20
const encoder = new TextEncoder()
const frame = (event: string, data: unknown) => encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

/**
 * Server-sent events for open pages, fed by PostgreSQL `LISTEN shop_events` (one connection per
 * process). Each stream belongs to the shop in its path (authorised like every route), so a stream
 * only ever carries its own shop's changes. Bounded: streams per process and per shop, bytes unread
 * per stream, and a lifetime after which the page reconnects.
 */
export class LiveHub {
  private readonly streams = new Map<number, Set<Stream>>()
  private readonly pending = new Map<number, Pending>()
  /**
   * Slots taken per shop and in all: a slot is reserved synchronously before the first await of
   * `open` and released when its stream closes (or its opening fails), so parallel opens cannot all
   * pass the check and the caps hold.
   */
  private readonly taken = new Map<number, number>()
  private total = 0
  private listening: Promise<unknown> | null = null
  private renewTimer: ReturnType<typeof setInterval> | null = null
  private sessionTimer: ReturnType<typeof setInterval> | null = null
  private readonly limits: LiveLimits

  constructor(
    private readonly deps: {
      sql: Sql
      sources: LiveSources
      log: Logger
      limits?: Partial<LiveLimits>
      /** Of these session ids, the ones that ended (revoked, expired, access withdrawn). */
      endedSessions?: (ids: number[]) => Promise<number[]>
      /** The NOTIFY channel on which ended sessions are announced as `{ids: [...]}`. */
      sessionsChannel?: string
    },
  ) {
    this.limits = { ...defaultLiveLimits, ...deps.limits }
  }

  /** Open streams (for /metrics and tests). */
  get size() {
    return this.total
  }

  private listen() {
    const { sql, log, sessionsChannel } = this.deps
    this.listening ??= Promise.all([
      sql.listen('shop_events', (payload) => this.onNotify(payload)),
      sessionsChannel ? sql.listen(sessionsChannel, (payload) => this.onSessionsEnded(payload)) : null,
    ]).then((all) => all.filter((l) => l !== null))
    this.renewTimer ??= setInterval(() => void this.renewLeases().catch((error) => log.warn('live_lease_failed', { error })), RENEW_MS)
    this.sessionTimer ??= setInterval(() => void this.checkSessions().catch((error) => log.warn('live_session_check_failed', { error })), SESSION_CHECK_MS)
    return this.listening
  }

  /** Closes every stream of these sessions (their credential no longer works). */
  closeSessions(ids: Iterable<number>): number {
    const ended = new Set(ids)
    let closed = 0
    for (const set of [...this.streams.values()])
      for (const s of [...set])
        if (s.viewer.sessionId !== null && ended.has(s.viewer.sessionId)) {
          this.write(s, frame('bye', { reason: 'session_ended' }))
          this.close(s)
          closed++
        }
    if (closed) this.deps.log.info('live_streams_closed', { reason: 'session_ended', streams: closed })
    return closed
  }

  private onSessionsEnded(payload: string) {
    try {
      const ids = (JSON.parse(payload) as { ids?: unknown }).ids
      if (Array.isArray(ids)) this.closeSessions(ids.map(Number))
    } catch {}
  }

  /** The safety net under NOTIFY: asks which of the sessions streaming here have ended. */
  async checkSessions(): Promise<void> {
    const ids = new Set<number>()
    for (const set of this.streams.values()) for (const s of set) if (s.viewer.sessionId !== null) ids.add(s.viewer.sessionId)
    if (!ids.size || !this.deps.endedSessions) return
    this.closeSessions(await this.deps.endedSessions([...ids]))
  }

  /** The shops this process streams: their changes are announced (see sql/015_live.sql). */
  private async renewLeases(shops = [...this.streams.keys()]) {
    if (!shops.length) return
    await this.deps.sql`
      insert into live_watchers (shop_id, until) select unnest(${shops}::bigint[]), now() + make_interval(secs => ${LEASE_SEC})
      on conflict (shop_id) do update set until = excluded.until`
  }

  /** Takes a slot for the shop, synchronously; throws 429/503 when the shop or the process holds too many. */
  private reserve(shopId: number) {
    const { maxStreams, maxPerShop } = this.limits
    const mine = this.taken.get(shopId) ?? 0
    if (mine >= maxPerShop) throw new HttpError(429, 'too_many_streams', `This shop already has ${mine} live pages open here; close one or rely on polling`)
    if (this.total >= maxStreams) throw new HttpError(503, 'too_many_streams', 'The service holds as many live pages as it may; the page falls back to polling')
    this.taken.set(shopId, mine + 1)
    this.total++
  }

  private release(shopId: number) {
    const mine = (this.taken.get(shopId) ?? 1) - 1
    if (mine > 0) this.taken.set(shopId, mine)
    else this.taken.delete(shopId)
    this.total--
  }

  /** A new stream for a shop; 429/503 when the shop or the process holds too many. */
  async open(shopId: number, signal?: AbortSignal, viewer: Viewer = OPERATOR): Promise<Response> {
    const { lifetimeMs, heartbeatMs, maxBufferedBytes } = this.limits
    this.reserve(shopId)
    try {
      await this.listen()
      await this.renewLeases([shopId])
    } catch (err) {
      this.release(shopId)
      throw err
    }
    let stream!: Stream
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          stream = { shopId, viewer, controller, timers: [], closed: false }
          const set = this.streams.get(shopId) ?? new Set()
          set.add(stream)
          this.streams.set(shopId, set)
          this.write(stream, frame('ready', { shopId, heartbeatMs }))
          stream.timers.push(setInterval(() => this.write(stream, encoder.encode(': ping\n\n')), heartbeatMs))
          // the client went away (tab closed, network lost): Bun aborts the request's signal
          signal?.addEventListener('abort', () => this.close(stream), { once: true })
          stream.timers.push(
            setTimeout(() => {
              this.write(stream, frame('bye', { reason: 'lifetime' }))
              this.close(stream)
            }, lifetimeMs),
          )
        },
        cancel: () => this.close(stream, false),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: maxBufferedBytes }),
    )
    return new Response(body, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' },
    })
  }

  private write(s: Stream, bytes: Uint8Array) {
    if (s.closed) return
    // a page that stopped reading: cut it off rather than hold its backlog
    if ((s.controller.desiredSize ?? 0) < 0) {
      this.deps.log.info('live_stream_dropped', { shopId: s.shopId, reason: 'slow_reader' })
      return this.close(s)
    }
    try {
      s.controller.enqueue(bytes)
    } catch {
      this.close(s, false)
    }
  }

  private close(s: Stream, end = true) {
    if (!s || s.closed) return
    s.closed = true
    for (const t of s.timers) clearInterval(t)
    const set = this.streams.get(s.shopId)
    if (set?.delete(s)) this.release(s.shopId)
    if (set && !set.size) this.streams.delete(s.shopId)
    if (end)
      try {
        s.controller.close()
      } catch {}
  }

  private onNotify(payload: string) {
    let p: { shop?: number; order?: number | null; chats?: boolean; status?: boolean }
    try {
      p = JSON.parse(payload)
    } catch {
      return
    }
    const shopId = Number(p.shop)
    if (!this.streams.has(shopId)) return
    let pend = this.pending.get(shopId)
    if (!pend) {
      pend = { orders: new Set(), status: false, chats: false }
      this.pending.set(shopId, pend)
      setTimeout(() => void this.flush(shopId).catch((error) => this.deps.log.warn('live_flush_failed', { shopId, error })), this.limits.flushMs)
    }
    if (p.order) pend.orders.add(Number(p.order))
    if (p.chats) pend.chats = true
    pend.status = true
  }

  private async flush(shopId: number) {
    const pend = this.pending.get(shopId)
    this.pending.delete(shopId)
    if (!pend || !this.streams.has(shopId)) return
    const { sources } = this.deps
    const frames: Uint8Array[] = []
    if (pend.orders.size > MAX_ORDERS_PER_FLUSH) frames.push(frame('reload', { orders: pend.orders.size }))
    else
      for (const id of [...pend.orders].sort((a, b) => a - b)) {
        const item = await sources.order(shopId, id)
        if (item) frames.push(frame('order', item))
      }
    const viewers = [...(this.streams.get(shopId) ?? [])].map((s) => s.viewer)
    // what each kind of viewer may see: the owner's view, and a manager's (no links, no chats)
    const chats = pend.chats && viewers.some((v) => v.chats) ? frame('chats', await sources.chats(shopId)) : null
    const full = pend.status && viewers.some((v) => v.links) ? frame('status', await sources.status(shopId, true)) : null
    const narrow = pend.status && viewers.some((v) => !v.links) ? frame('status', await sources.status(shopId, false)) : null
    for (const s of [...(this.streams.get(shopId) ?? [])]) {
      for (const f of frames) this.write(s, f)
      if (chats && s.viewer.chats) this.write(s, chats)
      const status = s.viewer.links ? full : narrow
      if (status) this.write(s, status)
    }
  }

  async stop() {
    for (const set of [...this.streams.values()]) for (const s of [...set]) this.close(s)
    if (this.renewTimer) clearInterval(this.renewTimer)
    if (this.sessionTimer) clearInterval(this.sessionTimer)
    this.renewTimer = null
    this.sessionTimer = null
    const l = this.listening
    this.listening = null
    if (l) await l.then((all) => Promise.all((all as { unlisten: () => Promise<void> }[]).map((x) => x.unlisten()))).catch(() => {})
  }
}
