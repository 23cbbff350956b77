import { randomBytes } from 'node:crypto'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Principal } from '../platform/http/auth'
import { HttpError, Invalid, NotFound } from '../platform/http/errors'
import type { Logger } from '../platform/log'
import * as repo from './repository'
import { EVENT_TYPES } from './types'
import { assertPublicHttps, UnsafeUrl } from './url-guard'
import { eventIdOf, SECRET_AAD } from './webhooks'

/** How long the previous secret keeps signing after a rotation. */
export const SECRET_OVERLAP_MS = 24 * 3600_000

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`

/** The shop a caller is held to: null for the operator (and open development), the key's shop for a POS key. */
function scopeOf(p: Principal | undefined): number | null {
  if (p?.kind === 'api_key') return p.shopId
  if (p?.kind === 'operator' || p?.kind === 'open') return null
  throw new HttpError(403, 'forbidden', 'Events and webhooks are for the operator and shop API keys')
}

const toEndpoint = (r: repo.EndpointRow) => ({
  id: Number(r.id),
  url: r.url,
  events: r.events,
  shopId: r.shop_id === null ? null : Number(r.shop_id),
  description: r.description,
  enabled: r.enabled,
  disabledReason: r.disabled_reason,
  failingSince: r.failing_since?.toISOString() ?? null,
  secretRotatedUntil: r.previous_secret_until && r.previous_secret_until > new Date() ? r.previous_secret_until.toISOString() : null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
})
export type Endpoint = ReturnType<typeof toEndpoint>

export const toEvent = (r: repo.EventRow) => ({
  id: eventIdOf(r.id),
  type: r.type,
  occurredAt: r.occurred_at.toISOString(),
  shopId: r.shop_id === null ? null : Number(r.shop_id),
  data: r.data,
})

/** `evt_12` or `12` → 12; anything else is a 422. */
export function parseEventCursor(v: string | undefined): number {
  if (v === undefined || v === '') return 0
  const m = /^(?:evt_)?(\d{1,15})$/.exec(v)
  if (!m) throw new Invalid('after must be an event id such as evt_123', [{ path: 'after', message: 'must be an event id' }], 'invalid_cursor')
  return Number(m[1])
}

/** The feed and the webhook endpoints, each scoped by who asks (the operator: every shop; a key: its own). */
export class EventService {
  constructor(private readonly deps: { sql: Sql; cipher: TokenCipher; log: Logger; resolve?: (host: string) => Promise<string[]>; wake?: () => void }) {}

  async feed(p: Principal | undefined, q: { after?: string; limit?: number; types?: string | string[] }) {
    const shopId = scopeOf(p)
    const list = (Array.isArray(q.types) ? q.types : (q.types?.split(',') ?? [])).map((t) => t.trim()).filter(Boolean)
    const types = list.length ? list : null
    const unknown = types?.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t)) ?? []
    if (unknown.length)
      throw new Invalid(`Unknown event types: ${unknown.join(', ')}`, [{ path: 'types', message: `unknown: ${unknown.join(', ')}` }], 'invalid_types')
    const limit = q.limit ?? 100
    const rows = await repo.listEvents(this.deps.sql, { shopId, after: parseEventCursor(q.after), limit, types })
    const items = rows.map(toEvent)
    // the cursor always moves to the last row seen, so a poller never re-reads a page
    return { items, nextCursor: items.length ? items[items.length - 1]!.id : (q.after ?? null) }
  }

  private async checkUrl(p: Principal | undefined, url: string) {
    if (p?.kind !== 'api_key') return
    try {
      await assertPublicHttps(url, this.deps.resolve)
    } catch (err) {
      if (err instanceof UnsafeUrl) throw new Invalid(`url ${err.message}`, [{ path: 'url', message: err.message }], 'unsafe_url')
      throw err
    }
  }

  async create(p: Principal | undefined, body: { url: string; events?: string[] | null; shopId?: number | null; description?: string }) {
    const scope = scopeOf(p)
    if (scope !== null && body.shopId != null && body.shopId !== scope) throw new HttpError(403, 'forbidden', 'This API key belongs to another shop')
    const shopId = scope ?? body.shopId ?? null
    if (shopId !== null && !(await this.deps.sql`select 1 from shops where id = ${shopId}`).length)
      throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
    await this.checkUrl(p, body.url)
    const secret = newSecret()
    const row = await repo.insertEndpoint(this.deps.sql, {
      shopId,
      url: body.url,
      events: body.events?.length ? body.events : null,
      description: body.description ?? '',
      secret: this.deps.cipher.encrypt(secret, SECRET_AAD),
      createdBy: p?.kind === 'api_key' ? `api_key:${p.keyId}` : (p?.kind ?? 'open'),
    })
    this.deps.log.info('webhook_endpoint_created', { endpointId: Number(row.id), shopId })
    return { ...toEndpoint(row), secret }
  }

  async list(p: Principal | undefined) {
    return { items: (await repo.listEndpoints(this.deps.sql, scopeOf(p))).map(toEndpoint) }
  }

  /** The endpoint if this caller may touch it; another shop's is a 404 (its existence is not told). */
  private async own(p: Principal | undefined, id: number): Promise<repo.EndpointRow> {
    const scope = scopeOf(p)
    const row = await repo.findEndpoint(this.deps.sql, id)
    if (!row || (scope !== null && Number(row.shop_id) !== scope)) throw new NotFound(`Webhook endpoint ${id} does not exist`, 'endpoint_not_found')
    return row
  }

  async get(p: Principal | undefined, id: number) {
    return toEndpoint(await this.own(p, id))
  }

  async update(p: Principal | undefined, id: number, body: { url?: string; events?: string[] | null; enabled?: boolean; description?: string }) {
    await this.own(p, id)
    if (body.url) await this.checkUrl(p, body.url)
    const row = await repo.updateEndpoint(this.deps.sql, id, {
      ...body,
      events: body.events === undefined ? undefined : body.events?.length ? body.events : null,
    })
    return toEndpoint(row!)
  }

  async remove(p: Principal | undefined, id: number) {
    await this.own(p, id)
    await repo.deleteEndpoint(this.deps.sql, id)
  }

  async rotate(p: Principal | undefined, id: number) {
    await this.own(p, id)
    const secret = newSecret()
    const until = new Date(Date.now() + SECRET_OVERLAP_MS)
    await repo.rotateSecret(this.deps.sql, id, this.deps.cipher.encrypt(secret, SECRET_AAD), until)
    this.deps.log.info('webhook_secret_rotated', { endpointId: id })
    return { secret, previousValidUntil: until.toISOString() }
  }

  async test(p: Principal | undefined, id: number) {
    const row = await this.own(p, id)
    if (!row.enabled) throw new HttpError(409, 'endpoint_disabled', 'This endpoint is switched off; enable it first')
    const eventId = await repo.insertTestEvent(this.deps.sql, row)
    this.deps.wake?.()
    return { eventId: eventIdOf(eventId) }
  }

  async deliveries(p: Principal | undefined, id: number, q: { cursor?: number; limit?: number }) {
    await this.own(p, id)
    const limit = q.limit ?? 50
    const rows = await repo.listDeliveries(this.deps.sql, id, q.cursor ?? null, limit + 1)
    const page = rows.slice(0, limit)
    return {
      items: page.map((r) => ({
        id: Number(r.id),
        eventId: eventIdOf(r.event_id),
        type: r.type,
        status: r.state,
        attempts: r.attempts,
        lastStatusCode: r.last_status_code,
        lastError: r.last_error,
        nextAttemptAt: r.state === 'pending' ? r.next_attempt_at.toISOString() : null,
        deliveredAt: r.delivered_at?.toISOString() ?? null,
      })),
      nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
    }
  }

  async retry(p: Principal | undefined, deliveryId: number) {
    const scope = scopeOf(p)
    const d = await repo.deliveryEndpoint(this.deps.sql, deliveryId)
    if (!d || (scope !== null && Number(d.shop_id) !== scope)) throw new NotFound(`Webhook delivery ${deliveryId} does not exist`, 'delivery_not_found')
    await repo.retryDelivery(this.deps.sql, deliveryId)
    this.deps.wake?.()
  }
}
