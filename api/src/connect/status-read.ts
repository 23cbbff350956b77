import type { Sql } from '../platform/db/client'
import type { IntegrationRow, StatusRow } from './repository'

/** What `GET …/telegram/status` shows of the integration (the columns it reads). */
export type StatusIntegration = Pick<
  IntegrationRow,
  | 'enabled'
  | 'chat_id'
  | 'bot_username'
  | 'bot_token_masked'
  | 'chat_title'
  | 'chat_type'
  | 'chat_member_status'
  | 'start_code'
  | 'start_code_expires_at'
  | 'start_code_purpose'
  | 'managed'
  | 'updated_at'
>

export type StatusSnapshot = {
  found: boolean
  integration: StatusIntegration | null
  summary: StatusRow
  lagSec: number
  /** the shop has an owner in Telegram (shops.owner_tg_user_id) */
  owner: boolean
}

/**
 * Everything the status route shows, in ONE statement (one round trip, one snapshot; issue 27): the
 * shop and its owner, its integration, the 7-day counts (per-hour counters plus the window's first
 * partial hour, as `sendLogSummary`), the latest outcomes and the age of the oldest due notification.
 * Four statements before, each a round trip and a pool connection under a hot shop's polling.
 */
export async function readStatus(sql: Sql, shopId: number): Promise<StatusSnapshot> {
  const [r] = await sql<(StatusRow & StatusIntegration & { found: boolean; owner: boolean; connected: boolean; lag_sec: number | null })[]>`
    select s.id is not null as found, coalesce(s.owner_tg_user_id is not null, false) as owner, i.shop_id is not null as connected,
           i.enabled, i.chat_id, i.bot_username, i.bot_token_masked, i.chat_title, i.chat_type, i.chat_member_status,
           i.start_code, i.start_code_expires_at, i.start_code_purpose, i.managed, i.updated_at,
           w.sent_count, w.failed_count,
           (select max(sent_at) from telegram_send_log where shop_id = q.id and status = 'SENT') as last_sent_at,
           f.updated_at as last_failed_at, f.error as last_error, f.error_code as last_error_code,
           (select floor(extract(epoch from now() - min(d.next_attempt_at)))::int
            from telegram_chats c join telegram_outbox d on d.chat_ref = c.id and d.state = 'pending' and d.next_attempt_at <= now()
            where c.shop_id = q.id) as lag_sec
    from (select ${shopId}::bigint as id) q
    left join shops s on s.id = q.id
    left join telegram_integrations i on i.shop_id = q.id
    cross join lateral (
      -- whole hours from the per-hour counters (at most 4 stripes × 168 rows, read once) plus the window's first, partial hour
      select coalesce(h.sent, 0) + b.sent as sent_count, coalesce(h.failed, 0) + b.failed as failed_count
      from (select sum(c.sent) as sent, sum(c.failed) as failed from telegram_send_counts c
            where c.shop_id = q.id and c.hour >= date_trunc('hour', now() - interval '7 days') + interval '1 hour') h,
           (select count(*) filter (where status = 'SENT') as sent, count(*) filter (where status = 'FAILED') as failed
            from telegram_send_log
            where shop_id = q.id and updated_at >= now() - interval '7 days'
              and updated_at < date_trunc('hour', now() - interval '7 days') + interval '1 hour') b
    ) w
    left join lateral (
      select updated_at, error, error_code from telegram_send_log
      where shop_id = q.id and status = 'FAILED'
      order by updated_at desc limit 1
    ) f on true`
  const row = r!
  return { found: row.found, integration: row.connected ? row : null, summary: row, lagSec: Math.max(0, row.lag_sec ?? 0), owner: row.owner }
}
