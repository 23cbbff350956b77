import type { Sql } from '../platform/db/client'

/** A managed_bot_links row as the service uses it. */
export type ManagedLinkRow = {
  id: string
  shop_id: string
  code: string
  expires_at: Date
  started_by: string | null
  used_at: Date | null
  bot_id: string | null
}

/** A new single-use code for the shop (the unique index makes a clash fail loudly, never share a code). */
export async function insertManagedLink(sql: Sql, shopId: number, code: string, ttlSec: number): Promise<ManagedLinkRow> {
  const [row] = await sql<ManagedLinkRow[]>`
    insert into managed_bot_links (shop_id, code, expires_at)
    values (${shopId}, ${code}, now() + make_interval(secs => ${ttlSec}))
    returning *`
  return row!
}

/** The shop's newest live, unused link (the demo plays Telegram's part for it). */
export async function latestLiveLink(sql: Sql, shopId: number): Promise<ManagedLinkRow | null> {
  const [row] = await sql<ManagedLinkRow[]>`
    select * from managed_bot_links where shop_id = ${shopId} and used_at is null and expires_at > now() order by id desc limit 1`
  return row ?? null
}

/**
 * `/start <code>` from a Telegram user: takes the live, unused code for that user, in one statement.
 * Someone else's later `/start` with the same code gets nothing; the same person may open it again.
 */
export async function takeManagedLink(sql: Sql, code: string, userId: number): Promise<{ shop_id: string; shop_name: string } | null> {
  const [row] = await sql<{ shop_id: string; shop_name: string }[]>`
    update managed_bot_links l
    set started_by = ${userId}, started_at = now()
    from shops s
    where l.code = ${code} and s.id = l.shop_id
      and l.expires_at > now() and l.used_at is null
      and (l.started_by is null or l.started_by = ${userId})
    returning l.shop_id, s.name as shop_name`
  return row ?? null
}

/**
 * The link a `managed_bot` update from this user belongs to: the latest one they started, still live
 * and unused, for a bot no link has been used for yet (the same update also reports a token or owner
 * change of a bot created earlier: that one changes nothing).
 */
export async function findStartedLink(sql: Sql, userId: number, botId: number): Promise<ManagedLinkRow | null> {
  const [row] = await sql<ManagedLinkRow[]>`
    select * from managed_bot_links
    where started_by = ${userId} and used_at is null and expires_at > now()
      and not exists (select 1 from managed_bot_links u where u.bot_id = ${botId})
    order by started_at desc limit 1`
  return row ?? null
}

/** Spends the link for the created bot, only if still live and unused (call it inside the connect's transaction). */
export async function useManagedLink(sql: Sql, linkId: string, botId: number): Promise<boolean> {
  const rows = await sql`
    update managed_bot_links set used_at = now(), bot_id = ${botId}
    where id = ${linkId} and used_at is null and expires_at > now()`
  return rows.count === 1
}

/**
 * Stores a rotated token of the shop's managed bot (only while that bot is still the shop's), and the
 * new webhook secret when one was set with it.
 */
export async function storeRotatedToken(
  sql: Sql,
  p: { shopId: number; botId: string; tokenEncrypted: string; tokenMasked: string; webhookSecretHash: string | null },
): Promise<{ bot_username: string; token_rotated_at: Date } | null> {
  const [row] = await sql<{ bot_username: string; token_rotated_at: Date }[]>`
    update telegram_integrations
    set bot_token = ${p.tokenEncrypted}, bot_token_masked = ${p.tokenMasked},
        webhook_secret_hash = coalesce(${p.webhookSecretHash}, webhook_secret_hash),
        token_rotated_at = now(), updated_at = now(), poll_error = null
    where shop_id = ${p.shopId} and bot_id = ${p.botId} and managed
    returning bot_username, token_rotated_at`
  return row ?? null
}

/** True the first time the manager bot sees this update (Telegram redelivers on slow answers). */
export async function markManagerUpdateSeen(sql: Sql, botId: number, updateId: number): Promise<boolean> {
  const rows = await sql`insert into manager_bot_updates (bot_id, update_id) values (${botId}, ${updateId}) on conflict do nothing`
  return rows.count > 0
}

/** Leases the manager bot's getUpdates for `leaseSec`; its offset, or null while another replica holds it. */
export async function claimManagerPoll(sql: Sql, botId: number, leaseSec: number): Promise<number | null> {
  const [row] = await sql<{ poll_offset: string }[]>`
    insert into manager_bot_polls as p (bot_id, locked_until) values (${botId}, now() + make_interval(secs => ${leaseSec}))
    on conflict (bot_id) do update set locked_until = excluded.locked_until
      where p.locked_until is null or p.locked_until < now()
    returning poll_offset`
  return row ? Number(row.poll_offset) : null
}

export async function releaseManagerPoll(sql: Sql, botId: number, nextOffset: number | null): Promise<void> {
  await sql`
    update manager_bot_polls
    set locked_until = null, poll_offset = greatest(poll_offset, coalesce(${nextOffset}, poll_offset))
    where bot_id = ${botId}`
}

/** True when one of the shop's recipients is a group (the florists' group is then connected already). */
export async function hasGroupRecipient(sql: Sql, shopId: number): Promise<boolean> {
  const [row] = await sql`select 1 from telegram_chats where shop_id = ${shopId} and type in ('group', 'supergroup') limit 1`
  return !!row
}
