import type { Sql } from '../platform/db/client'

/**
 * The transactional outbox in SQL. A delivery row is written in the order's own transaction, then
 * whoever holds its lease (the request making the first attempt, or a dispatcher) sends it. Leases
 * (`locked_by`, `locked_until`) make retries survive crashes and keep replicas from sending the same
 * delivery at the same time; `FOR UPDATE SKIP LOCKED` lets them claim without waiting on each other.
 */

export type DeliveryRow = {
  id: string
  shop_id: string
  order_id: string
  kind: 'order' | 'order_status'
  state: 'pending' | 'done' | 'dead'
  attempts: number
  revision: number
  created_at: Date
  shop_name: string
  number: string
  total: string
  customer_name: string
  customer_phone: string | null
  recipient_name: string | null
  recipient_phone: string | null
  delivery_date: string | null
  delivery_time: string | null
  address: string | null
  comment: string | null
  status: string
  accepted_by: string | null
  accepted_at: Date | null
  bot_token: string | null
  chat_id: string | null
  enabled: boolean | null
  message_id: string | null
  message_chat_id: string | null
  /** For a status edit: the state of the order's own notification (null when there is none). */
  order_delivery_state: 'pending' | 'done' | 'dead' | null
}

/** Everything one attempt needs, in one read. */
export async function loadDelivery(sql: Sql, id: string): Promise<DeliveryRow | null> {
  const [row] = await sql<DeliveryRow[]>`
    select d.id, d.shop_id, d.order_id, d.kind, d.state, d.attempts, d.revision, d.created_at,
           s.name as shop_name,
           o.number, o.total::text as total, o.customer_name, o.customer_phone, o.recipient_name, o.recipient_phone,
           o.delivery_date::text as delivery_date, o.delivery_time, o.address, o.comment, o.status, o.accepted_by, o.accepted_at,
           i.bot_token, i.chat_id, i.enabled,
           l.message_id, l.chat_id as message_chat_id,
           (select od.state from telegram_outbox od where od.order_id = d.order_id and od.kind = 'order') as order_delivery_state
    from telegram_outbox d
    join orders o on o.id = d.order_id
    join shops s on s.id = d.shop_id
    left join telegram_integrations i on i.shop_id = d.shop_id
    left join telegram_send_log l on l.shop_id = d.shop_id and l.order_id = d.order_id
    where d.id = ${id}`
  return row ?? null
}

/** How long to leave a chat alone after sending to it (Telegram: ~1/s per chat, ~20/min per group). */
export type Pacing = { chatIntervalMs: number; groupIntervalMs: number }

/**
 * Due deliveries, leased to `owner`, at most one per shop, from shops whose chat may be written to
 * now; the shop's next slot moves on by the pacing interval in the same statement. Integration rows
 * are taken with SKIP LOCKED, so replicas claim disjoint shops and never pace one chat twice.
 * Expired leases of crashed workers count as due.
 */
export async function claimDueDeliveries(sql: Sql, owner: string, limit: number, leaseSec: number, pacing: Pacing): Promise<{ id: string; shop_id: string }[]> {
  return sql<{ id: string; shop_id: string }[]>`
    with candidates as (
      -- Due rows, oldest first, of shops whose chat may be written to now. Locked SKIP LOCKED for the
      -- statement, so a replica claiming at the same moment looks further down the queue.
      select d.shop_id from telegram_outbox d
      join telegram_integrations i on i.shop_id = d.shop_id
      where d.state = 'pending' and d.next_attempt_at <= now()
        and (d.locked_until is null or d.locked_until < now())
        and (i.next_send_at is null or i.next_send_at <= now())
      order by d.next_attempt_at
      -- Rows, not shops: a shop with a backlog fills several, so look well past \`limit\`.
      limit ${limit * 16}
      for update of d skip locked
    ),
    shops as (
      select i.id, i.shop_id,
             case when i.chat_id like '-%' then ${pacing.groupIntervalMs}::int else ${pacing.chatIntervalMs}::int end as pace_ms
      from telegram_integrations i
      where i.shop_id in (select shop_id from candidates)
        and (i.next_send_at is null or i.next_send_at <= now())
      limit ${limit}
      for update of i skip locked
    ),
    picked as (
      select p.id, s.id as integration_id, s.pace_ms
      from shops s
      cross join lateral (
        select d.id from telegram_outbox d
        where d.shop_id = s.shop_id and d.state = 'pending' and d.next_attempt_at <= now()
          and (d.locked_until is null or d.locked_until < now())
        order by d.next_attempt_at, d.id
        limit 1
        for update skip locked) p
    ),
    paced as (
      update telegram_integrations i set next_send_at = now() + make_interval(secs => p.pace_ms / 1000.0)
      from picked p where i.id = p.integration_id and p.pace_ms > 0
    )
    update telegram_outbox d set locked_by = ${owner}, locked_until = now() + make_interval(secs => ${leaseSec})
    from picked p where d.id = p.id
    returning d.id, d.shop_id`
}

/**
 * Telegram accepted the message: the delivery is done and the order's log row says SENT, in one
 * statement. A status edit re-queued while this one was in flight (its revision moved on) stays
 * pending, so the newer status is sent next instead of being lost.
 */
export async function finishSent(
  sql: Sql,
  p: { id: string; kind: string; shopId: string; orderId: string; text: string; messageId: number; chatId: string; mock: boolean; revision?: number; paceMs?: number },
): Promise<void> {
  // The chat's next slot counts from when Telegram took this message (claims count from the claim):
  // consecutive messages to one chat stay at least the pacing interval apart.
  const pace = p.paceMs
    ? sql`, p as (
        update telegram_integrations set next_send_at = greatest(next_send_at, now() + make_interval(secs => ${p.paceMs / 1000}))
        where shop_id = ${p.shopId})`
    : sql``
  const outbox = sql`
    update telegram_outbox
    set state = case when revision = ${p.revision ?? 0} then 'done' else 'pending' end,
        next_attempt_at = now(), attempts = attempts + 1, locked_by = null, locked_until = null, last_error = null, last_error_code = null, updated_at = now()
    where id = ${p.id}
    returning attempts`
  if (p.kind !== 'order') {
    // The message text (and, after a deleted message was replaced, its id) follows the edit.
    await sql`
      with d as (${outbox})${pace}
      update telegram_send_log set message = ${p.text}, message_id = ${p.messageId}, chat_id = ${p.chatId}
      where shop_id = ${p.shopId} and order_id = ${p.orderId}`
    return
  }
  await sql`
    with d as (${outbox})${pace}
    insert into telegram_send_log (shop_id, order_id, message, status, error, attempts, sent_at, message_id, chat_id, mock)
    select ${p.shopId}, ${p.orderId}, ${p.text}, 'SENT', null, coalesce((select attempts from d), 1), now(), ${p.messageId}, ${p.chatId}, ${p.mock}
    on conflict (shop_id, order_id) do update set
      status = 'SENT', error = null, error_code = null, message = excluded.message, attempts = excluded.attempts,
      sent_at = now(), message_id = excluded.message_id, chat_id = excluded.chat_id, mock = excluded.mock, updated_at = now()`
}

/**
 * The attempt failed. `retryAt` null means give up (terminal error or out of attempts): the delivery
 * is dead and stays FAILED until the owner presses "retry". Only the lease holder may record this,
 * and a FAILED never overwrites a SENT. One statement.
 */
export async function finishFailed(
  sql: Sql,
  p: { id: string; owner: string; kind: string; shopId: string; orderId: string; text: string; error: string; errorCode: string; retryAt: Date | null; revision?: number },
): Promise<boolean> {
  const rev = p.revision ?? 0
  const [r] = await sql<{ recorded: boolean }[]>`
    with d as (
      update telegram_outbox
      set state = case when ${p.retryAt}::timestamptz is null and revision = ${rev} then 'dead' else 'pending' end,
          next_attempt_at = case when revision <> ${rev} then now() else coalesce(${p.retryAt}::timestamptz, next_attempt_at) end,
          attempts = attempts + 1, locked_by = null, locked_until = null, last_error = ${p.error}, last_error_code = ${p.errorCode}, updated_at = now()
      where id = ${p.id} and locked_by = ${p.owner} and state = 'pending'
      returning attempts),
    l as (
      insert into telegram_send_log (shop_id, order_id, message, status, error, error_code, attempts)
      select ${p.shopId}, ${p.orderId}, ${p.text}, 'FAILED', ${p.error}, ${p.errorCode}, d.attempts from d where ${p.kind} = 'order'
      on conflict (shop_id, order_id) do update set
        status = 'FAILED', error = excluded.error, error_code = excluded.error_code, message = excluded.message, attempts = excluded.attempts, updated_at = now()
      where telegram_send_log.status <> 'SENT')
    select exists (select 1 from d) as recorded`
  return !!r?.recorded
}

/** Gives a lease back without counting an attempt (shutdown, or nothing could be tried). */
export async function releaseLease(sql: Sql, id: string, owner: string): Promise<void> {
  await sql`update telegram_outbox set locked_by = null, locked_until = null where id = ${id} and locked_by = ${owner}`
}

export type RequeueResult = { state: 'queued'; id: string } | { state: 'already_sent' } | { state: 'in_progress' } | { state: 'none' }

/**
 * The owner's "retry": a dead (or waiting) delivery becomes due now and is leased to the caller,
 * who attempts it at once. A sent one is not sent again.
 */
export async function requeueDelivery(sql: Sql, shopId: number, orderId: number, owner: string, leaseSec: number): Promise<RequeueResult> {
  const [row] = await sql<{ id: string }[]>`
    update telegram_outbox
    set state = 'pending', next_attempt_at = now(), locked_by = ${owner},
        locked_until = now() + make_interval(secs => ${leaseSec}), updated_at = now(),
        attempts = case when state = 'dead' then 0 else attempts end
    where shop_id = ${shopId} and order_id = ${orderId} and kind = 'order'
      and state in ('dead', 'pending') and (locked_until is null or locked_until < now())
    returning id`
  if (row) return { state: 'queued', id: row.id }
  const [existing] = await sql<{ state: string }[]>`
    select state from telegram_outbox where shop_id = ${shopId} and order_id = ${orderId} and kind = 'order'`
  if (!existing) return { state: 'none' }
  return existing.state === 'done' ? { state: 'already_sent' } : { state: 'in_progress' }
}

/** Nothing to do for this delivery (e.g. a status edit of an order whose notification never went out). */
export async function finishSkipped(sql: Sql, id: string, owner: string, reason: string): Promise<void> {
  await sql`
    update telegram_outbox set state = 'done', locked_by = null, locked_until = null, last_error = ${reason}, updated_at = now()
    where id = ${id} and locked_by = ${owner}`
}

/** Try again later without counting an attempt (a status edit waiting for the message it edits). */
export async function postpone(sql: Sql, id: string, owner: string, until: Date): Promise<void> {
  await sql`
    update telegram_outbox set next_attempt_at = ${until}, locked_by = null, locked_until = null, updated_at = now()
    where id = ${id} and locked_by = ${owner}`
}

/**
 * In the transaction that changed an order's status: queue an edit of its Telegram message, if the
 * order had a notification. One row per order; a later change bumps its revision and makes it due.
 */
export async function queueStatusEdit(tx: Sql, shopId: number, orderId: number): Promise<boolean> {
  const rows = await tx`
    insert into telegram_outbox (shop_id, order_id, kind)
    select shop_id, order_id, 'order_status' from telegram_outbox
    where shop_id = ${shopId} and order_id = ${orderId} and kind = 'order'
    on conflict (order_id, kind) do update set
      state = 'pending', next_attempt_at = now(), attempts = 0, last_error = null,
      revision = telegram_outbox.revision + 1, updated_at = now()`
  return rows.count > 0
}

/** The group became a supergroup (`migrate_to_chat_id`): follow it, only if the chat is still the one we knew. */
export async function migrateChat(sql: Sql, shopId: number, fromChatId: string, toChatId: string): Promise<void> {
  await sql`
    update telegram_integrations set chat_id = ${toChatId}, updated_at = now()
    where shop_id = ${shopId} and chat_id = ${fromChatId}`
}
