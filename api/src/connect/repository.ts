import type { Sql } from '../platform/db/client'

/** A telegram_integrations row as the services use it (token still encrypted). */
export type IntegrationRow = {
  id: string
  shop_id: string
  bot_token: string
  bot_token_masked: string
  bot_id: string
  bot_username: string
  chat_id: string | null
  chat_title: string | null
  chat_type: string | null
  chat_member_status: string | null
  enabled: boolean
  start_code: string | null
  start_code_expires_at: Date | null
  start_code_purpose: 'owner' | 'recipient'
  webhook_id: string
  webhook_secret_hash: string
  webhook_url: string | null
  poll_offset: string
  poll_error: string | null
  /** Created through the platform's manager bot (its token can be rotated there). */
  managed: boolean
  token_rotated_at: Date | null
  created_at: Date
  updated_at: Date
}

export async function findIntegration(sql: Sql, shopId: number): Promise<IntegrationRow | null> {
  const [row] = await sql<IntegrationRow[]>`select * from telegram_integrations where shop_id = ${shopId}`
  return row ?? null
}

export async function findIntegrationByWebhookId(sql: Sql, webhookId: string): Promise<IntegrationRow | null> {
  const [row] = await sql<IntegrationRow[]>`select * from telegram_integrations where webhook_id = ${webhookId}`
  return row ?? null
}

export type UpsertWithToken = {
  shopId: number
  tokenEncrypted: string
  tokenMasked: string
  botId: number
  botUsername: string
  chatId: string | undefined
  enabled: boolean
  webhookId: string
  webhookSecretHash: string
  webhookUrl: string | null
  startCode: string
  startCodeTtlSec: number
  startCodePurpose: 'owner' | 'recipient'
  /** True for a bot created through the manager bot; a pasted token is never managed. */
  managed?: boolean
}

/**
 * Connect with a (new or same) token: one upsert by shop. `created_at` is kept, `updated_at` bumped.
 * A token of a different bot forgets the bound chat (that bot was never started there) unless the
 * caller names a chat; a fresh one-time start code is issued only when no chat stays bound.
 */
export async function upsertIntegrationWithToken(sql: Sql, p: UpsertWithToken): Promise<IntegrationRow> {
  const chatGiven = p.chatId !== undefined
  const chatBound = chatGiven ? sql`${p.chatId !== null}` : sql`(i.chat_id is not null and i.bot_id = excluded.bot_id)`
  const [row] = await sql<IntegrationRow[]>`
    insert into telegram_integrations as i
      (shop_id, bot_token, bot_token_masked, bot_id, bot_username, chat_id, enabled,
       webhook_id, webhook_secret_hash, webhook_url, managed, start_code, start_code_expires_at, start_code_purpose)
    values
      (${p.shopId}, ${p.tokenEncrypted}, ${p.tokenMasked}, ${p.botId}, ${p.botUsername}, ${p.chatId ?? null}, ${p.enabled},
       ${p.webhookId}, ${p.webhookSecretHash}, ${p.webhookUrl}, ${p.managed ?? false},
       ${chatGiven ? null : p.startCode}, ${chatGiven ? null : sql`now() + make_interval(secs => ${p.startCodeTtlSec})`}, ${p.startCodePurpose})
    on conflict (shop_id) do update set
      bot_token = excluded.bot_token,
      bot_token_masked = excluded.bot_token_masked,
      bot_username = excluded.bot_username,
      chat_id = case
        when ${chatGiven} then excluded.chat_id
        when i.bot_id <> excluded.bot_id then null
        else i.chat_id end,
      chat_title = case when ${chatGiven} or i.bot_id <> excluded.bot_id then null else i.chat_title end,
      chat_type = case when ${chatGiven} or i.bot_id <> excluded.bot_id then null else i.chat_type end,
      chat_member_status = case when ${chatGiven} or i.bot_id <> excluded.bot_id then null else i.chat_member_status end,
      bot_id = excluded.bot_id,
      enabled = excluded.enabled,
      webhook_id = excluded.webhook_id,
      webhook_secret_hash = excluded.webhook_secret_hash,
      webhook_url = excluded.webhook_url,
      managed = excluded.managed,
      token_rotated_at = case when i.bot_id <> excluded.bot_id or not excluded.managed then null else i.token_rotated_at end,
      -- while a chat stays bound no new code is issued (POST …/telegram/link asks for one)
      start_code = case when ${chatBound} then i.start_code else ${p.startCode} end,
      start_code_expires_at = case when ${chatBound} then i.start_code_expires_at else now() + make_interval(secs => ${p.startCodeTtlSec}) end,
      start_code_purpose = case when ${chatBound} then i.start_code_purpose else ${p.startCodePurpose} end,
      poll_offset = case when i.bot_id <> excluded.bot_id then 0 else i.poll_offset end,
      poll_error = null,
      updated_at = now()
    returning *`
  return row!
}

/** Connect without a token: change chat and/or enabled of the existing integration; null when none. */
export async function updateIntegrationSettings(sql: Sql, shopId: number, p: { chatId: string | undefined; enabled: boolean }): Promise<IntegrationRow | null> {
  const chatGiven = p.chatId !== undefined
  const _chatBound = chatGiven ? sql`${p.chatId !== null}` : sql`(i.chat_id is not null and i.bot_id = excluded.bot_id)`
  const [row] = await sql<IntegrationRow[]>`
    update telegram_integrations set
      chat_id = case when ${chatGiven} then ${p.chatId ?? null} else chat_id end,
      chat_title = case when ${chatGiven} and chat_id is distinct from ${p.chatId ?? null} then null else chat_title end,
      chat_type = case when ${chatGiven} and chat_id is distinct from ${p.chatId ?? null} then null else chat_type end,
      chat_member_status = case when ${chatGiven} and chat_id is distinct from ${p.chatId ?? null} then null else chat_member_status end,
      enabled = ${p.enabled},
      updated_at = now()
    where shop_id = ${shopId}
    returning *`
  return row ?? null
}

/** A fresh one-time start code (the owner asked for a new link, e.g. to move to another chat). */
export async function renewStartCode(sql: Sql, shopId: number, code: string, ttlSec: number, purpose: 'owner' | 'recipient'): Promise<IntegrationRow | null> {
  const [row] = await sql<IntegrationRow[]>`
    update telegram_integrations
    set start_code = ${code}, start_code_expires_at = now() + make_interval(secs => ${ttlSec}), start_code_purpose = ${purpose}, updated_at = now()
    where shop_id = ${shopId}
    returning *`
  return row ?? null
}

/** Whether the shop has its owner in Telegram yet (a new link then binds the owner by default). */
export async function hasTelegramOwner(sql: Sql, shopId: number): Promise<boolean> {
  const [row] = await sql<{ owner: boolean }[]>`select owner_tg_user_id is not null as owner from shops where id = ${shopId}`
  return !!row?.owner
}

/**
 * Spends a start code and binds the chat, in one statement: a code matches at most once, and only
 * while unexpired, however many times Telegram redelivers the update. A code issued for the owner
 * (`start_code_purpose = 'owner'`), spent in a private chat, also makes that person the shop's owner
 * in Telegram (`owner: true`); in a group it only adds the group.
 */
export async function bindChatByStartCode(
  sql: Sql,
  integrationId: string,
  code: string,
  chat: { id: string; title: string | null; type: string; threadId?: number | null; fromUserId?: number | null },
): Promise<{ shop_id: string; shop_name: string; recipient_id: string; owner: boolean } | null> {
  // the owner is the person in the private chat: its chat id is their user id
  const ownerCandidate = chat.type === 'private' && (chat.fromUserId == null || String(chat.fromUserId) === chat.id) ? chat.id : null
  const [row] = await sql<{ shop_id: string; shop_name: string; recipient_id: string; owner: boolean }[]>`
    with i as (
      update telegram_integrations i
      set start_code = null, start_code_expires_at = null, start_code_purpose = 'recipient', updated_at = now(),
          chat_id = coalesce(i.chat_id, ${chat.id}),
          chat_title = case when i.chat_id is null then ${chat.title} else i.chat_title end,
          chat_type = case when i.chat_id is null then ${chat.type} else i.chat_type end,
          chat_member_status = case when i.chat_id is null then 'member' else i.chat_member_status end
      from shops s
      where i.id = ${integrationId} and s.id = i.shop_id
        and i.start_code = ${code} and i.start_code_expires_at > now()
      returning i.shop_id, s.name as shop_name),
    -- the code's purpose before the update above (every part of one statement reads the same snapshot)
    purpose as (select start_code_purpose from telegram_integrations where id = ${integrationId}),
    c as (
      insert into telegram_chats (shop_id, chat_id, thread_id, title, type, member_status)
      select shop_id, ${chat.id}, ${chat.threadId ?? null}, ${chat.title}, ${chat.type}, 'member' from i
      on conflict (shop_id, chat_id, coalesce(thread_id, 0)) do update
        set title = excluded.title, type = excluded.type, member_status = 'member', enabled = true, updated_at = now()
      returning id),
    o as (
      update shops set owner_tg_user_id = ${ownerCandidate}::bigint
      where id = (select shop_id from i) and ${ownerCandidate}::bigint is not null
        and (select start_code_purpose from purpose) = 'owner'
      returning id)
    select i.shop_id, i.shop_name, c.id as recipient_id, exists (select 1 from o) as owner from i, c`
  return row ?? null
}

/** Records that the bot was removed from (or re-added to) a chat: every recipient in that chat shows it. */
export async function setChatMemberStatus(sql: Sql, integrationId: string, chatId: string, status: string): Promise<boolean> {
  const [r] = await sql<{ n: number }[]>`
    with c as (
      update telegram_chats c set member_status = ${status}, updated_at = now()
      from telegram_integrations i where i.id = ${integrationId} and c.shop_id = i.shop_id and c.chat_id = ${chatId}
      returning c.id),
    i as (
      update telegram_integrations set chat_member_status = ${status}, updated_at = now()
      where id = ${integrationId} and chat_id = ${chatId}
      returning id)
    select ((select count(*) from c) + (select count(*) from i))::int as n`
  return (r?.n ?? 0) > 0
}

/** True the first time an update is seen: Telegram redelivers on slow or failed answers. */
export async function markUpdateSeen(sql: Sql, integrationId: string, updateId: number): Promise<boolean> {
  const rows = await sql`
    insert into telegram_updates (integration_id, update_id) values (${integrationId}, ${updateId})
    on conflict do nothing`
  return rows.count > 0
}

export type StatusRow = {
  sent_count: string
  failed_count: string
  last_sent_at: Date | null
  last_failed_at: Date | null
  last_error: string | null
  last_error_code: string | null
}

/**
 * The 7-day counts and the latest outcomes of a shop, in one statement. The counts read
 * `telegram_send_log_window_idx` only (index-only scan), so they stay fast at millions of rows.
 */
export async function sendLogSummary(sql: Sql, shopId: number): Promise<StatusRow> {
  const [row] = await sql<StatusRow[]>`
    select
      w.sent_count, w.failed_count,
      (select max(sent_at) from telegram_send_log where shop_id = ${shopId} and status = 'SENT') as last_sent_at,
      f.updated_at as last_failed_at,
      f.error as last_error,
      f.error_code as last_error_code
    from (
      -- whole hours from the per-hour counters (at most 168 rows, whatever the shop's volume) …
      select coalesce(sum(c.sent), 0) + b.sent as sent_count, coalesce(sum(c.failed), 0) + b.failed as failed_count
      from (
        -- … plus the window's first, partial hour counted from the index (at most an hour of rows)
        select count(*) filter (where status = 'SENT') as sent, count(*) filter (where status = 'FAILED') as failed
        from telegram_send_log
        where shop_id = ${shopId} and updated_at >= now() - interval '7 days'
          and updated_at < date_trunc('hour', now() - interval '7 days') + interval '1 hour'
      ) b
      left join telegram_send_counts c
        on c.shop_id = ${shopId} and c.hour >= date_trunc('hour', now() - interval '7 days') + interval '1 hour'
      group by b.sent, b.failed
    ) w
    left join lateral (
      select updated_at, error, error_code from telegram_send_log
      where shop_id = ${shopId} and status = 'FAILED'
      order by updated_at desc limit 1
    ) f on true`
  return row!
}

/** Integrations the getUpdates poller should ask now, leased so two replicas never poll one bot. */
export async function claimPollableIntegrations(sql: Sql, limit: number, leaseSec: number): Promise<IntegrationRow[]> {
  return sql<IntegrationRow[]>`
    update telegram_integrations set poll_locked_until = now() + make_interval(secs => ${leaseSec})
    where id in (
      select id from telegram_integrations
      where poll_error is null
        and ((start_code is not null and start_code_expires_at > now()) or (chat_id is not null and enabled))
        and (poll_locked_until is null or poll_locked_until < now())
      order by poll_locked_until nulls first
      limit ${limit}
      for update skip locked)
    returning *`
}

export async function releasePoll(sql: Sql, integrationId: string, nextOffset: number | null, error: string | null): Promise<void> {
  await sql`
    update telegram_integrations
    set poll_locked_until = null,
        poll_offset = greatest(poll_offset, coalesce(${nextOffset}, poll_offset)),
        poll_error = ${error}
    where id = ${integrationId}`
}

/** Tokens not yet under the key `keyId` (a batch), for re-encryption after a key rotation. */
export function tokensNotUnderKey(sql: Sql, keyId: string, afterId: string, limit: number): Promise<{ id: string; shop_id: string; bot_token: string }[]> {
  return sql<{ id: string; shop_id: string; bot_token: string }[]>`
    select id, shop_id, bot_token from telegram_integrations
    where id > ${afterId} and bot_token not like ${`v2:${keyId}:%`} order by id limit ${limit}`
}

/** Replaces a stored token only if it is still the one read (a concurrent connect wins). */
export async function replaceEncryptedToken(sql: Sql, id: string, from: string, to: string): Promise<boolean> {
  const rows = await sql`update telegram_integrations set bot_token = ${to} where id = ${id} and bot_token = ${from}`
  return rows.count === 1
}

/** True when the chat is one of the shop's enabled recipients: bot commands answer only there. */
export async function isRecipientChat(sql: Sql, shopId: number | string, chatId: string): Promise<boolean> {
  const [row] = await sql`select 1 from telegram_chats where shop_id = ${shopId} and chat_id = ${chatId} and enabled and role = 'staff' limit 1`
  return !!row
}

/** True when the chat is one of the shop's recipients and every recipient row of it is paused. */
export async function isPausedChat(sql: Sql, shopId: number | string, chatId: number | string | undefined): Promise<boolean> {
  if (chatId === undefined) return false
  const [row] = await sql<{ paused: boolean }[]>`
    select bool_and(not enabled) as paused from telegram_chats where shop_id = ${shopId} and chat_id = ${String(chatId)}`
  return !!row?.paused
}

/** The shop's name and time zone, as its messages show them. */
export async function shopForMessages(sql: Sql, shopId: number | string): Promise<{ name: string; timeZone: string } | null> {
  const [row] = await sql<{ name: string; time_zone: string }[]>`select name, time_zone from shops where id = ${shopId}`
  return row ? { name: row.name, timeZone: row.time_zone } : null
}
