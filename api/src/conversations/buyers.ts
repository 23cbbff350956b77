import type { Sql } from '../platform/db/client'
import { buyerStatusText } from './texts'

/**
 * The order's buyer: the first person who opened its buyer link. The database decides who is first
 * (the primary key on the order, and a trigger that never lets the person change), so two people
 * opening a forwarded link at once cannot both become the buyer.
 */
export type BuyerRow = {
  order_id: string
  shop_id: string
  private_chat_ref: string
  tg_user_id: string
  subscribed: boolean
  awaiting_change_photo: string | null
  first_name: string | null
  chat_id: string
  number: string
}

/**
 * `new`: this person is now the order's buyer; `resumed`: they had sent /stop and opened the link
 * again; `again`: already subscribed; `taken`: someone else opened the link first (nothing changes).
 */
export async function subscribeBuyer(
  tx: Sql,
  p: { shopId: number; orderId: number; privateChatRef: string; tgUserId: number },
): Promise<'new' | 'resumed' | 'again' | 'taken'> {
  const [prev] = await tx<{ subscribed: boolean; tg_user_id: string }[]>`
    select subscribed, tg_user_id from order_buyers where order_id = ${p.orderId} for update`
  const rows = await tx`
    insert into order_buyers (order_id, shop_id, private_chat_ref, tg_user_id)
    values (${p.orderId}, ${p.shopId}, ${p.privateChatRef}, ${p.tgUserId})
    on conflict (order_id) do update set subscribed = true, stopped_at = null
    where order_buyers.tg_user_id = excluded.tg_user_id
    returning 1`
  if (!rows.length) return 'taken'
  if (!prev) return 'new'
  return prev.subscribed ? 'again' : 'resumed'
}

/** The orders a person follows in this shop, newest subscription first (their messages are about the first). */
export async function activeBuyerOrder(sql: Sql, shopId: number, chatId: string): Promise<BuyerRow | null> {
  const [row] = await sql<BuyerRow[]>`
    select b.order_id, b.shop_id, b.private_chat_ref, b.tg_user_id, b.subscribed, b.awaiting_change_photo, pc.first_name, pc.chat_id, o.number
    from telegram_private_chats pc
    join order_buyers b on b.private_chat_ref = pc.id and b.subscribed
    join orders o on o.id = b.order_id
    where pc.shop_id = ${shopId} and pc.chat_id = ${chatId}
    order by b.subscribed_at desc, b.order_id desc
    limit 1`
  return row ?? null
}

/** The order's buyer (subscribed or not), or null when nobody opened the link. */
export async function buyerOf(sql: Sql, orderId: number | string): Promise<BuyerRow | null> {
  const [row] = await sql<BuyerRow[]>`
    select b.order_id, b.shop_id, b.private_chat_ref, b.tg_user_id, b.subscribed, b.awaiting_change_photo, pc.first_name, pc.chat_id, o.number
    from order_buyers b join telegram_private_chats pc on pc.id = b.private_chat_ref join orders o on o.id = b.order_id
    where b.order_id = ${orderId}`
  return row ?? null
}

/** `/stop`: the person stops following every order of this shop; the numbers they followed. */
export async function stopBuyer(sql: Sql, shopId: number, chatId: string): Promise<string[]> {
  const rows = await sql<{ number: string }[]>`
    update order_buyers b set subscribed = false, stopped_at = now(), awaiting_change_photo = null
    from telegram_private_chats pc, orders o
    where pc.shop_id = ${shopId} and pc.chat_id = ${chatId} and b.private_chat_ref = pc.id and b.subscribed and o.id = b.order_id
    returning o.number`
  return rows.map((r) => r.number)
}

/** «Хочу изменить» pressed: the buyer's next text is the change they ask for (null: nothing awaited). */
export async function awaitChange(sql: Sql, orderId: number | string, photoId: number | string | null): Promise<void> {
  await sql`update order_buyers set awaiting_change_photo = ${photoId} where order_id = ${orderId}`
}

/**
 * A notification to the order's subscribed buyer, in the caller's transaction. `dueKey` makes it
 * once-only (a status is told once). False when there is no subscribed buyer.
 */
export async function queueToBuyer(
  tx: Sql,
  p: { orderId: number | string; kind: string; dueKey: string; payload?: Record<string, unknown> },
): Promise<boolean> {
  const rows = await tx`
    insert into telegram_outbox (shop_id, order_id, kind, private_chat_ref, due_key, payload)
    select b.shop_id, b.order_id, ${p.kind}, b.private_chat_ref, ${p.dueKey}, ${p.payload ? tx.json(p.payload as never) : null}
    from order_buyers b where b.order_id = ${p.orderId} and b.subscribed
    on conflict do nothing
    returning id`
  return rows.length > 0
}

/**
 * A notification to every recipient chat that has the order's message (a reply goes under it), in
 * the caller's transaction. The number of chats it goes to.
 */
export async function queueToOrderChats(
  tx: Sql,
  p: { orderId: number | string; kind: string; dueKey: string; payload?: Record<string, unknown> },
): Promise<number> {
  const rows = await tx`
    insert into telegram_outbox (shop_id, order_id, kind, chat_ref, due_key, payload)
    select c.shop_id, m.order_id, ${p.kind}, m.chat_ref, ${p.dueKey}, ${p.payload ? tx.json(p.payload as never) : null}
    from telegram_messages m join telegram_chats c on c.id = m.chat_ref
    -- staff chats only: a courier chat's card is recorded there too, and couriers never see the buyer (sql/023)
    where m.order_id = ${p.orderId} and c.enabled and c.role = 'staff'
    on conflict do nothing
    returning id`
  return rows.length
}

/** In the transaction of a status change: the buyer is told once per status (nothing for `new`). */
export async function queueBuyerStatus(tx: Sql, orderId: number | string, status: string): Promise<boolean> {
  if (!buyerStatusText('', '', status)) return false
  return queueToBuyer(tx, { orderId, kind: 'buyer_update', dueKey: `status:${status}`, payload: { status } })
}
