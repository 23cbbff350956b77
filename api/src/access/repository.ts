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
  subject: string | null
  subject_name: string | null
  source: string
  expires_at: Date
  revoked_at: Date | null
}

export async function findSession(sql: Sql, hash: string): Promise<SessionRow | null> {
  const [row] = await sql<SessionRow[]>`
    select id, shop_id, subject, subject_name, source, expires_at, revoked_at from owner_sessions where token_hash = ${hash}`
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

/** A session needing no single-use proof (e.g. Telegram initData, whose freshness is checked instead). */
export async function openSession(
  sql: Sql,
  p: { shopId: number; hash: string; source: 'launch' | 'telegram'; subject: string | null; name: string | null; expiresAt: Date },
): Promise<{ id: string; expires_at: Date }> {
  const [row] = await sql<{ id: string; expires_at: Date }[]>`
    insert into owner_sessions (shop_id, token_hash, source, subject, subject_name, expires_at)
    values (${p.shopId}, ${p.hash}, ${p.source}, ${p.subject}, ${p.name}, ${p.expiresAt})
    returning id, expires_at`
  return row!
}

export async function revokeSession(sql: Sql, sessionId: number): Promise<void> {
  await sql`update owner_sessions set revoked_at = now() where id = ${sessionId} and revoked_at is null`
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
