import type { Sql } from '../platform/db/client'

/** SQL of the access feature: one statement per function, named by what it guarantees. */

export type ApiKeyRow = { id: string; shop_id: string; name: string; prefix: string; created_at: Date; last_used_at: Date | null }

export async function insertApiKey(sql: Sql, shopId: number, name: string, prefix: string, hash: string): Promise<ApiKeyRow> {
  const [row] = await sql<ApiKeyRow[]>`
    insert into shop_api_keys (shop_id, name, prefix, key_hash) values (${shopId}, ${name}, ${prefix}, ${hash})
    returning id, shop_id, name, prefix, created_at, last_used_at`
  return row!
}

export function listApiKeys(sql: Sql, shopId: number): Promise<ApiKeyRow[]> {
  return sql<ApiKeyRow[]>`
    select id, shop_id, name, prefix, created_at, last_used_at from shop_api_keys
    where shop_id = ${shopId} and revoked_at is null order by id`
}

/** True when a live key of this shop was revoked by this call. */
export async function revokeApiKey(sql: Sql, shopId: number, keyId: number): Promise<boolean> {
  const rows = await sql`update shop_api_keys set revoked_at = now() where id = ${keyId} and shop_id = ${shopId} and revoked_at is null returning id`
  return rows.length === 1
}

/**
 * The live key with this hash, touching `last_used_at` at most once a minute in the same round trip
 * (a POS posting orders all day must not turn every request into a row update).
 */
export async function useApiKey(sql: Sql, hash: string): Promise<{ id: string; shop_id: string; prefix: string; name: string } | null> {
  const [row] = await sql<{ id: string; shop_id: string; prefix: string; name: string }[]>`
    with k as (select id, shop_id, prefix, name, last_used_at from shop_api_keys where key_hash = ${hash} and revoked_at is null),
    touched as (
      update shop_api_keys s set last_used_at = now() from k
      where s.id = k.id and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute')
    )
    select id, shop_id, prefix, name from k`
  return row ?? null
}

export type SessionRow = {
  id: string
  shop_id: string
  kind: 'owner' | 'manager'
  subject: string | null
  subject_name: string | null
  source: string
  tg_user_id: string | null
  expires_at: Date
  revoked_at: Date | null
  /** A Telegram session whose person is no longer the owner, or no longer a manager, is not. */
  still_allowed: boolean
}

export async function findSession(sql: Sql, hash: string): Promise<SessionRow | null> {
  const [row] = await sql<SessionRow[]>`
    select s.id, s.shop_id, s.kind, s.subject, s.subject_name, s.source, s.tg_user_id, s.expires_at, s.revoked_at,
      case
        when s.kind = 'manager' then exists (select 1 from telegram_managers m where m.shop_id = s.shop_id and m.tg_user_id = s.tg_user_id)
        when s.source = 'telegram' then coalesce((select sh.owner_tg_user_id = s.tg_user_id from shops sh where sh.id = s.shop_id), false)
        else true
      end as still_allowed
    from owner_sessions s where s.token_hash = ${hash}`
  return row ?? null
}

/**
 * Spends the launch token's jti and opens the session in one statement: two tabs racing with the same
 * link get one session, the other finds the jti used. Null when the jti was already spent.
 */
export async function openSessionOnce(
  sql: Sql,
  p: {
    jti: string
    jtiExpiresAt: Date
    shopId: number
    hash: string
    source: 'launch' | 'telegram'
    subject: string | null
    name: string | null
    expiresAt: Date
  },
): Promise<{ id: string; expires_at: Date } | null> {
  const [row] = await sql<{ id: string; expires_at: Date }[]>`
    with spent as (
      insert into used_launch_tokens (jti, expires_at) values (${p.jti}, ${p.jtiExpiresAt})
      on conflict (jti) do nothing returning jti
    )
    insert into owner_sessions (shop_id, token_hash, source, subject, subject_name, expires_at)
    select ${p.shopId}, ${p.hash}, ${p.source}, ${p.subject}, ${p.name}, ${p.expiresAt} from spent
    returning id, expires_at`
  return row ?? null
}

/**
 * A session from Telegram Mini App data: at most one per initData (its signature's hash is unique), so
 * captured initData cannot be replayed into more sessions. Null when that initData was already used.
 */
export async function openTelegramSessionOnce(
  sql: Sql,
  p: { shopId: number; hash: string; kind: 'owner' | 'manager'; tgUserId: number; name: string; initDataHash: string; expiresAt: Date },
): Promise<{ id: string; expires_at: Date } | null> {
  const [row] = await sql<{ id: string; expires_at: Date }[]>`
    insert into owner_sessions (shop_id, token_hash, source, kind, subject, subject_name, tg_user_id, init_data_hash, expires_at)
    values (${p.shopId}, ${p.hash}, 'telegram', ${p.kind}, ${`tg:${p.tgUserId}`}, ${p.name}, ${p.tgUserId}, ${p.initDataHash}, ${p.expiresAt})
    on conflict (init_data_hash) where init_data_hash is not null do nothing
    returning id, expires_at`
  return row ?? null
}

/** Live streams of ended sessions are closed by every replica that holds one (see live/hub.ts). */
export const SESSIONS_ENDED_CHANNEL = 'sessions_ended'

async function announceEnded(sql: Sql, ids: string[]) {
  if (ids.length) await sql`select pg_notify(${SESSIONS_ENDED_CHANNEL}, ${JSON.stringify({ ids: ids.map(Number) })})`
}

export async function revokeSession(sql: Sql, sessionId: number): Promise<void> {
  const rows = await sql<{ id: string }[]>`update owner_sessions set revoked_at = now() where id = ${sessionId} and revoked_at is null returning id`
  await announceEnded(
    sql,
    rows.map((r) => r.id),
  )
}

/** Ends one open session of the shop; false when it has no such open session. */
export async function revokeShopSession(sql: Sql, shopId: number, sessionId: number): Promise<boolean> {
  const rows = await sql<{ id: string }[]>`
    update owner_sessions set revoked_at = now()
    where id = ${sessionId} and shop_id = ${shopId} and revoked_at is null and expires_at > now() returning id`
  await announceEnded(
    sql,
    rows.map((r) => r.id),
  )
  return rows.length === 1
}

/** Removes a manager and ends their sessions in one transaction; false when they were no manager. */
export async function removeManagerAndSessions(sql: Sql, shopId: number, tgUserId: number): Promise<{ removed: boolean; sessions: number }> {
  return sql.begin(async (tx) => {
    const gone = await tx`delete from telegram_managers where shop_id = ${shopId} and tg_user_id = ${tgUserId} returning 1`
    const ended = await tx<{ id: string }[]>`
      update owner_sessions set revoked_at = now()
      where shop_id = ${shopId} and tg_user_id = ${tgUserId} and kind = 'manager' and revoked_at is null returning id`
    // NOTIFY is delivered at commit, so no replica closes a stream of a removal that rolled back
    await announceEnded(
      tx as unknown as Sql,
      ended.map((r) => r.id),
    )
    return { removed: gone.length > 0, sessions: ended.length }
  })
}

export type OpenSessionRow = {
  id: string
  kind: 'owner' | 'manager'
  source: string
  subject: string | null
  subject_name: string | null
  tg_user_id: string | null
  created_at: Date
  expires_at: Date
}

export function listOpenSessions(sql: Sql, shopId: number): Promise<OpenSessionRow[]> {
  return sql<OpenSessionRow[]>`
    select id, kind, source, subject, subject_name, tg_user_id, created_at, expires_at from owner_sessions
    where shop_id = ${shopId} and revoked_at is null and expires_at > now() order by id`
}

/** Of these sessions, the ones that ended (revoked, expired, or their person lost access). */
export async function endedSessions(sql: Sql, ids: number[]): Promise<number[]> {
  if (!ids.length) return []
  const rows = await sql<{ id: string }[]>`
    select s.id from owner_sessions s where s.id = any(${ids}::bigint[])
      and (s.revoked_at is not null or s.expires_at <= now()
        or (s.kind = 'manager' and not exists (select 1 from telegram_managers m where m.shop_id = s.shop_id and m.tg_user_id = s.tg_user_id)))
    union all
    select i from unnest(${ids}::bigint[]) i where not exists (select 1 from owner_sessions s where s.id = i)`
  return rows.map((r) => Number(r.id))
}

/** Forgets spent jtis and sessions long past their expiry (their tokens could not be used anyway). */
export async function pruneExpired(sql: Sql): Promise<void> {
  await sql`delete from used_launch_tokens where expires_at < now() - interval '1 hour'`
  await sql`delete from owner_sessions where expires_at < now() - interval '7 days'`
}

export async function shopExists(sql: Sql, shopId: number): Promise<boolean> {
  const [row] = await sql`select 1 from shops where id = ${shopId}`
  return !!row
}
