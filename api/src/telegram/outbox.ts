import type { Sql } from '../db/client'

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

/** Due deliveries, leased to `owner` for `leaseSec`. Expired leases of crashed workers count as due. */
export async function claimDueDeliveries(sql: Sql, owner: string, limit: number, leaseSec: number): Promise<{ id: string; shop_id: string }[]> {
  return sql<{ id: string; shop_id: string }[]>`
    update telegram_outbox set locked_by = ${owner}, locked_until = now() + make_interval(secs => ${leaseSec})
    where id in (
      select id from telegram_outbox
      where state = 'pending' and next_attempt_at <= now()
        and (locked_until is null or locked_until < now())
      order by next_attempt_at
      limit ${limit}
      for update skip locked)
    returning id, shop_id`
}

/** Telegram accepted the message: the delivery is done and the order's log row says SENT. */
export async function finishSent(
  sql: Sql,
  p: { id: string; kind: string; shopId: string; orderId: string; text: string; messageId: number; chatId: string; mock: boolean; revision?: number },
): Promise<void> {
  await sql.begin(async (tx) => {
    // A status edit re-queued while this one was in flight (revision moved on) stays pending: the
    // newer status is sent next instead of being lost.
    const [d] = await tx<{ attempts: number }[]>`
      update telegram_outbox
      set state = case when revision = ${p.revision ?? 0} then 'done' else 'pending' end,
          next_attempt_at = now(), attempts = attempts + 1, locked_by = null, locked_until = null, last_error = null, updated_at = now()
      where id = ${p.id}
      returning attempts`
    if (p.kind !== 'order') {
      // The message text (and, after a deleted message was replaced, its id) follows the edit.
      await tx`
        update telegram_send_log set message = ${p.text}, message_id = ${p.messageId}, chat_id = ${p.chatId}
        where shop_id = ${p.shopId} and order_id = ${p.orderId}`
      return
    }
    await tx`
      insert into telegram_send_log (shop_id, order_id, message, status, error, attempts, sent_at, message_id, chat_id, mock)
      values (${p.shopId}, ${p.orderId}, ${p.text}, 'SENT', null, ${d?.attempts ?? 1}, now(), ${p.messageId}, ${p.chatId}, ${p.mock})
      on conflict (shop_id, order_id) do update set
        status = 'SENT', error = null, message = excluded.message, attempts = excluded.attempts,
        sent_at = now(), message_id = excluded.message_id, chat_id = excluded.chat_id, mock = excluded.mock, updated_at = now()`
  })
}

/**
 * The attempt failed. `retryAt` null means give up (terminal error or out of attempts): the delivery
 * is dead and stays FAILED until the owner presses "retry". Only the lease holder may record this,
 * and a FAILED never overwrites a SENT.
 */
export async function finishFailed(
  sql: Sql,
  p: { id: string; owner: string; kind: string; shopId: string; orderId: string; text: string; error: string; retryAt: Date | null },
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [d] = await tx<{ attempts: number }[]>`
      update telegram_outbox
      set state = ${p.retryAt ? 'pending' : 'dead'}, attempts = attempts + 1,
          next_attempt_at = coalesce(${p.retryAt}, next_attempt_at),
          locked_by = null, locked_until = null, last_error = ${p.error}, updated_at = now()
      where id = ${p.id} and locked_by = ${p.owner} and state = 'pending'
      returning attempts`
    if (!d) return false
    if (p.kind === 'order') {
      await tx`
        insert into telegram_send_log (shop_id, order_id, message, status, error, attempts)
        values (${p.shopId}, ${p.orderId}, ${p.text}, 'FAILED', ${p.error}, ${d.attempts})
        on conflict (shop_id, order_id) do update set
          status = 'FAILED', error = excluded.error, message = excluded.message, attempts = excluded.attempts, updated_at = now()
        where telegram_send_log.status <> 'SENT'`
    }
    return true
  })
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
