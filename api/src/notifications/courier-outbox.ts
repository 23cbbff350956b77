import { recordEvent } from '../events'
import type { Sql } from '../platform/db/client'
import type { DeliveryOutcome } from './courier-messages'

/**
 * The outbox writers of the courier feature; each runs inside the transaction of the change it
 * follows, so a card or a report is queued exactly when its change commits.
 */

/**
 * Queues the delivery card of an order in every courier chat (`create`: the order just became
 * `assembling`), or the edit of the cards already queued or sent (any later change a courier sees:
 * the address, the window, who took it, done, cancelled). One row per (order, courier chat); a later
 * change bumps its revision and makes it due, so edits coalesce to the newest state.
 *
 * Call it from any transaction that changes what the card shows (`deliveryDate`, `deliveryTime`,
 * `address`, `recipientName`, `recipientPhone`, `comment`, `surprise`, the status or the courier).
 */
export async function queueCourierCards(tx: Sql, shopId: number | string, orderId: number | string, opts: { create?: boolean } = {}): Promise<boolean> {
  const rows = await tx`
    insert into telegram_outbox (shop_id, order_id, kind, chat_ref)
    select c.shop_id, ${orderId}, 'courier_card', c.id
    from telegram_chats c
    join telegram_integrations i on i.shop_id = c.shop_id and i.enabled
    where c.shop_id = ${shopId} and c.role = 'courier' and c.enabled
      and (${opts.create ?? false}::boolean
           or exists (select 1 from telegram_outbox x where x.order_id = ${orderId} and x.kind = 'courier_card' and x.chat_ref = c.id))
    on conflict (order_id, kind, chat_ref, due_key) do update set
      state = 'pending', next_attempt_at = now(), attempts = 0, last_error = null, last_error_code = null,
      revision = telegram_outbox.revision + 1, updated_at = now()`
  return rows.count > 0
}

/**
 * The order's own message in every staff chat that has it is edited to the current state (who
 * delivers it, with «Снять курьера»), without a status line to chats that only follow statuses:
 * the status did not change.
 */
export async function queueOrderMessageEdits(tx: Sql, orderId: number | string): Promise<boolean> {
  const rows = await tx`
    insert into telegram_outbox (shop_id, order_id, kind, chat_ref)
    select o.shop_id, o.order_id, 'order_status', o.chat_ref from telegram_outbox o
    where o.order_id = ${orderId} and o.kind = 'order'
    on conflict (order_id, kind, chat_ref, due_key) do update set
      state = 'pending', next_attempt_at = now(), attempts = 0, last_error = null, last_error_code = null,
      revision = telegram_outbox.revision + 1, updated_at = now()`
  return rows.count > 0
}

/**
 * What the courier reported, to the staff chats that have the order's message or follow its status:
 * one row per chat and report (`due_key` = '<outcome>:<ms>'), a reply to the order's message there.
 */
export async function queueCourierReports(tx: Sql, shopId: number | string, orderId: number | string, outcome: DeliveryOutcome): Promise<number> {
  const rows = await tx`
    insert into telegram_outbox (shop_id, order_id, kind, chat_ref, due_key)
    select c.shop_id, ${orderId}, 'courier_report', c.id, ${outcome} || ':' || floor(extract(epoch from clock_timestamp()) * 1000)::bigint
    from telegram_chats c
    join telegram_integrations i on i.shop_id = c.shop_id and i.enabled
    where c.shop_id = ${shopId} and c.role = 'staff' and c.enabled
      and (exists (select 1 from telegram_messages m where m.order_id = ${orderId} and m.chat_ref = c.id) or 'order_status' = any(c.events))
    on conflict do nothing`
  return rows.count
}

/**
 * The same news for the order's buyer, if one subscribed (the buyer's link) and has not stopped: one
 * row per report, to the buyer's private chat.
 */
export async function queueBuyerNews(tx: Sql, orderId: number | string, outcome: DeliveryOutcome): Promise<number> {
  const rows = await tx`
    insert into telegram_outbox (shop_id, order_id, kind, private_chat_ref, due_key)
    select b.shop_id, b.order_id, 'courier_buyer_news', b.private_chat_ref, ${outcome} || ':' || floor(extract(epoch from clock_timestamp()) * 1000)::bigint
    from order_buyers b
    join telegram_integrations i on i.shop_id = b.shop_id and i.enabled
    where b.order_id = ${orderId} and b.subscribed
    on conflict do nothing`
  return rows.count
}

/**
 * The order left `new`: its second call (order_unaccepted, written at intake with a due time) is no
 * longer needed. Rows already leased are left to the sender, which skips them by the order's status.
 */
export async function settleUnaccepted(tx: Sql, orderId: number | string): Promise<void> {
  await tx`
    update telegram_outbox set state = 'done', last_error = 'принят вовремя', updated_at = now()
    where order_id = ${orderId} and kind = 'order_unaccepted' and state = 'pending' and locked_by is null`
}

/**
 * The SQL of the second call's rows for a CTE of a new order `o` (intake is one statement): one row per
 * enabled staff chat that gets new orders, and the owner's private chat, due `accept_within_minutes`
 * after the order came in; none when the shop switched it off. The unique index keeps it once.
 */
export const UNACCEPTED_OUTBOX_SQL = (from: string) => `
  insert into telegram_outbox (shop_id, order_id, kind, chat_ref, next_attempt_at)
  select ${from}.shop_id, ${from}.id, 'order_unaccepted', c.id, ${from}.created_at + make_interval(mins => sh.accept_within_minutes)
  from ${from}
  join shops sh on sh.id = ${from}.shop_id and sh.accept_within_minutes is not null
  join telegram_integrations i on i.shop_id = ${from}.shop_id and i.enabled
  join telegram_chats c on c.shop_id = ${from}.shop_id and c.enabled and c.role = 'staff'
    and ('order_created' = any(c.events)
         or c.id = (select p.id from telegram_chats p where p.shop_id = ${from}.shop_id and p.type = 'private' order by p.id limit 1))
  on conflict do nothing
  returning id`

/**
 * The second call is going out: the order is marked raised and `order.unaccepted` written, once per
 * order whatever the number of staff chats (the first row to get here wins), only while it is still new.
 */
export async function markUnaccepted(sql: Sql, shopId: number | string, orderId: number | string, minutes: number | null): Promise<void> {
  await sql.begin(async (t) => {
    const tx = t as unknown as Sql
    const [row] = await tx`
      update orders set unaccepted_at = now() where id = ${orderId} and status = 'new' and unaccepted_at is null returning id`
    if (row) await recordEvent(tx, { shopId: Number(shopId), type: 'order.unaccepted', orderId: Number(orderId), data: { afterMinutes: minutes } })
  })
}
