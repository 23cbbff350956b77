import type { Sql } from '../platform/db/client'

/** SQL of platform events and webhooks: one statement per function, named by what it guarantees. */

export type EventRow = { id: string; shop_id: string | null; type: string; data: Record<string, unknown>; occurred_at: Date }

/** Events after `after` (oldest first), optionally of one shop and some types. */
export function listEvents(sql: Sql, p: { shopId: number | null; after: number; limit: number; types: string[] | null }): Promise<EventRow[]> {
  return sql<EventRow[]>`
    select id, shop_id, type, data, occurred_at from platform_events
    where id > ${p.after}
      and (${p.shopId}::bigint is null or shop_id = ${p.shopId})
      and (${p.types}::text[] is null or type = any(${p.types}::text[]))
    order by id limit ${p.limit}`
}

export type EndpointRow = {
  id: string
  shop_id: string | null
  url: string
  events: string[] | null
  description: string
  enabled: boolean
  disabled_reason: string | null
  secret: string
  previous_secret: string | null
  previous_secret_until: Date | null
  failing_since: Date | null
  created_by: string
  created_at: Date
  updated_at: Date
}

export async function insertEndpoint(
  sql: Sql,
  p: { shopId: number | null; url: string; events: string[] | null; description: string; secret: string; createdBy: string },
): Promise<EndpointRow> {
  const [row] = await sql<EndpointRow[]>`
    insert into webhook_endpoints (shop_id, url, events, description, secret, created_by)
    values (${p.shopId}, ${p.url}, ${p.events}, ${p.description}, ${p.secret}, ${p.createdBy})
    returning *`
  return row!
}

/** Endpoints a caller may see: all (shopId null) or one shop's own. */
export function listEndpoints(sql: Sql, shopId: number | null): Promise<EndpointRow[]> {
  return sql<EndpointRow[]>`select * from webhook_endpoints where (${shopId}::bigint is null or shop_id = ${shopId}) order by id`
}

export async function findEndpoint(sql: Sql, id: number): Promise<EndpointRow | null> {
  const [row] = await sql<EndpointRow[]>`select * from webhook_endpoints where id = ${id}`
  return row ?? null
}

export async function updateEndpoint(
  sql: Sql,
  id: number,
  p: { url?: string; events?: string[] | null; enabled?: boolean; description?: string },
): Promise<EndpointRow | null> {
  const [row] = await sql<EndpointRow[]>`
    update webhook_endpoints set
      url = coalesce(${p.url ?? null}, url),
      events = case when ${p.events !== undefined} then ${p.events ?? null}::text[] else events end,
      description = coalesce(${p.description ?? null}, description),
      enabled = coalesce(${p.enabled ?? null}, enabled),
      -- switching an endpoint back on starts its failure clock afresh
      failing_since = case when ${p.enabled ?? null}::boolean then null else failing_since end,
      disabled_reason = case when ${p.enabled ?? null}::boolean is not null then null else disabled_reason end,
      updated_at = now()
    where id = ${id} returning *`
  return row ?? null
}

export async function deleteEndpoint(sql: Sql, id: number): Promise<boolean> {
  return (await sql`delete from webhook_endpoints where id = ${id} returning 1`).length === 1
}

/** The new secret signs from now on; the old one keeps signing alongside until `until`. */
export async function rotateSecret(sql: Sql, id: number, secret: string, until: Date): Promise<void> {
  await sql`
    update webhook_endpoints set previous_secret = secret, previous_secret_until = ${until}, secret = ${secret}, updated_at = now()
    where id = ${id}`
}

export type DeliveryRow = {
  id: string
  endpoint_id: string
  event_id: string
  type: string
  state: 'pending' | 'delivered' | 'failed'
  attempts: number
  last_status_code: number | null
  last_error: string | null
  next_attempt_at: Date
  delivered_at: Date | null
}

export function listDeliveries(sql: Sql, endpointId: number, before: number | null, limit: number): Promise<DeliveryRow[]> {
  return sql<DeliveryRow[]>`
    select d.id, d.endpoint_id, d.event_id, e.type, d.state, d.attempts, d.last_status_code, d.last_error, d.next_attempt_at, d.delivered_at
    from webhook_deliveries d join platform_events e on e.id = d.event_id
    where d.endpoint_id = ${endpointId} and (${before}::bigint is null or d.id < ${before})
    order by d.id desc limit ${limit}`
}

/** A delivery's endpoint (for the caller's scope check), or null. */
export async function deliveryEndpoint(sql: Sql, deliveryId: number): Promise<{ endpoint_id: string; shop_id: string | null } | null> {
  const [row] = await sql<{ endpoint_id: string; shop_id: string | null }[]>`
    select d.endpoint_id, w.shop_id from webhook_deliveries d join webhook_endpoints w on w.id = d.endpoint_id where d.id = ${deliveryId}`
  return row ?? null
}

/** Manual retry: due now, whatever it was (a delivered one is sent again: the receiver dedupes by webhook-id). */
export async function retryDelivery(sql: Sql, deliveryId: number): Promise<void> {
  await sql`
    update webhook_deliveries set state = 'pending', next_attempt_at = now(), locked_until = null, locked_by = null, updated_at = now()
    where id = ${deliveryId}`
  await sql`select pg_notify('webhook_due', '')`
}

/** `webhook.test` for one endpoint: the event and its one delivery in one transaction. */
export async function insertTestEvent(sql: Sql, endpoint: EndpointRow): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    with e as (
      insert into platform_events (shop_id, type, data)
      values (${endpoint.shop_id}, 'webhook.test', jsonb_build_object('shopId', ${endpoint.shop_id}::bigint, 'endpointId', ${endpoint.id}::bigint))
      returning id)
    insert into webhook_deliveries (endpoint_id, event_id) select ${endpoint.id}, e.id from e returning event_id as id`
  await sql`select pg_notify('webhook_due', '')`
  return row!.id
}

export type ClaimedDelivery = {
  id: string
  attempts: number
  event_id: string
  shop_id: string | null
  type: string
  data: Record<string, unknown>
  occurred_at: Date
  endpoint_id: string
  url: string
  secret: string
  previous_secret: string | null
  previous_secret_until: Date | null
  created_by: string
}

/**
 * Leases up to `limit` due deliveries of enabled endpoints (SKIP LOCKED: replicas never take the same
 * row) and counts the attempt at once, so an attempt cut short by a crash still counts. One statement.
 */
export function claimDueDeliveries(sql: Sql, owner: string, limit: number, leaseSec: number): Promise<ClaimedDelivery[]> {
  return sql<ClaimedDelivery[]>`
    with due as (
      select d.id from webhook_deliveries d join webhook_endpoints w on w.id = d.endpoint_id and w.enabled
      where d.state = 'pending' and d.next_attempt_at <= now() and (d.locked_until is null or d.locked_until < now())
      order by d.next_attempt_at, d.id limit ${limit}
      for update of d skip locked),
    claimed as (
      update webhook_deliveries d set locked_by = ${owner}, locked_until = now() + make_interval(secs => ${leaseSec}),
             attempts = d.attempts + 1, updated_at = now()
      from due where d.id = due.id
      returning d.id, d.attempts, d.event_id, d.endpoint_id)
    select c.id, c.attempts, c.event_id, e.shop_id, e.type, e.data, e.occurred_at, w.id as endpoint_id, w.url, w.secret,
           w.previous_secret, w.previous_secret_until, w.created_by
    from claimed c join platform_events e on e.id = c.event_id join webhook_endpoints w on w.id = c.endpoint_id`
}

/** 2xx: delivered, and the endpoint's failure clock stops. Guarded by the lease owner. */
export async function markDelivered(sql: Sql, id: string, owner: string, status: number): Promise<void> {
  await sql`
    with d as (
      update webhook_deliveries set state = 'delivered', delivered_at = now(), last_status_code = ${status}, last_error = null,
             locked_until = null, locked_by = null, updated_at = now()
      where id = ${id} and locked_by = ${owner} returning endpoint_id)
    update webhook_endpoints w set failing_since = null from d where w.id = d.endpoint_id and w.failing_since is not null`
}

/**
 * A failed attempt: retried at `retryAt`, or `failed` when the schedule is spent. The endpoint's
 * failure clock starts at its first failure since its last success; after `disableAfterSec` of nothing
 * but failures the endpoint is switched off (returned, so the caller records the event).
 */
export async function markFailed(
  sql: Sql,
  p: { id: string; owner: string; status: number | null; error: string; retryAt: Date | null; disableAfterSec: number },
): Promise<{ disabled: { id: string; shop_id: string | null; url: string } | null }> {
  const [row] = await sql<{ id: string | null; shop_id: string | null; url: string | null }[]>`
    with d as (
      update webhook_deliveries set
        state = case when ${p.retryAt}::timestamptz is null then 'failed' else 'pending' end,
        next_attempt_at = coalesce(${p.retryAt}::timestamptz, next_attempt_at),
        last_status_code = ${p.status}, last_error = ${p.error}, locked_until = null, locked_by = null, updated_at = now()
      where id = ${p.id} and locked_by = ${p.owner} returning endpoint_id),
    prev as (select w.id, w.enabled, coalesce(w.failing_since, now()) as since from webhook_endpoints w where w.id = (select endpoint_id from d)),
    -- one update of the endpoint (a row updated twice in one statement keeps only one change)
    w as (
      update webhook_endpoints w set failing_since = prev.since,
             enabled = w.enabled and prev.since >= now() - make_interval(secs => ${p.disableAfterSec}),
             disabled_reason = case when w.enabled and prev.since < now() - make_interval(secs => ${p.disableAfterSec})
                                    then 'Only failures for ' || (${p.disableAfterSec} / 3600) || ' h: switched off automatically'
                                    else w.disabled_reason end,
             updated_at = case when w.enabled and prev.since < now() - make_interval(secs => ${p.disableAfterSec}) then now() else w.updated_at end
      from prev where w.id = prev.id
      returning w.id, w.shop_id, w.url, prev.enabled and not w.enabled as switched_off)
    select w.id, w.shop_id, w.url from w where w.switched_off`
  return { disabled: row?.id ? { id: row.id, shop_id: row.shop_id, url: row.url! } : null }
}

/** Hands a lease back without counting it as a failure (a graceful stop mid-attempt). */
export async function releaseDelivery(sql: Sql, id: string, owner: string): Promise<void> {
  await sql`update webhook_deliveries set locked_until = null, locked_by = null, attempts = greatest(attempts - 1, 0) where id = ${id} and locked_by = ${owner}`
}

/** Keeps the event log ≥ the contract's 30 days; deliveries go with their events. */
export async function pruneEvents(sql: Sql, keepDays: number): Promise<number> {
  const rows = await sql`
    delete from platform_events where id in (
      select id from platform_events where occurred_at < now() - make_interval(days => ${keepDays}) order by id limit 10000)
    returning 1`
  return rows.length
}

/**
 * `keys:reencrypt` for webhook secrets: every endpoint's current (and overlapping previous) secret moved
 * to the newest key. A row changed meanwhile (a rotation) is left to the next run.
 */
export async function reencryptSecrets(
  sql: Sql,
  keyId: string,
  recrypt: (stored: string) => string | null,
): Promise<{ reencrypted: number; unreadable: number }> {
  const out = { reencrypted: 0, unreadable: 0 }
  const rows = await sql<{ id: string; secret: string; previous_secret: string | null }[]>`
    select id, secret, previous_secret from webhook_endpoints
    where secret not like ${`v2:${keyId}:%`} or (previous_secret is not null and previous_secret not like ${`v2:${keyId}:%`})`
  for (const r of rows) {
    const secret = recrypt(r.secret)
    const previous = r.previous_secret === null ? null : recrypt(r.previous_secret)
    if (secret === null || (r.previous_secret !== null && previous === null)) {
      out.unreadable++
      continue
    }
    const done = await sql`
      update webhook_endpoints set secret = ${secret}, previous_secret = ${previous}
      where id = ${r.id} and secret = ${r.secret} and previous_secret is not distinct from ${r.previous_secret}`
    out.reencrypted += done.count
  }
  return out
}
