import type { Sql } from '../platform/db/client'

/** Couriers' private chats with the shop's bot and the photo a «Доставлено» waits for (sql/023). */

/** The courier's private chat with the bot: remembered from their /start or press, or a staff private chat of the same person. */
export async function contactOf(sql: Sql, shopId: number, userId: number): Promise<string | null> {
  const [row] = await sql<{ chat_id: string }[]>`
    select chat_id from courier_contacts where shop_id = ${shopId} and tg_user_id = ${userId}
    union all
    select chat_id from telegram_chats where shop_id = ${shopId} and type = 'private' and chat_id = ${String(userId)}
    limit 1`
  return row?.chat_id ?? null
}

export async function saveContact(sql: Sql, shopId: number, userId: number, chatId: string, name: string): Promise<void> {
  await sql`
    insert into courier_contacts (shop_id, tg_user_id, chat_id, name) values (${shopId}, ${userId}, ${chatId}, ${name})
    on conflict (shop_id, tg_user_id) do update set chat_id = excluded.chat_id, name = excluded.name`
}

/** The bot can no longer write to them (blocked it): the next press leads them to the bot again. */
export async function forgetContact(sql: Sql, shopId: number, userId: number): Promise<void> {
  await sql`delete from courier_contacts where shop_id = ${shopId} and tg_user_id = ${userId}`
}

export async function setAwaitingPhoto(sql: Sql, shopId: number, userId: number, orderId: number): Promise<void> {
  await sql`update courier_contacts set awaiting_photo = ${orderId} where shop_id = ${shopId} and tg_user_id = ${userId}`
}

export async function awaitingPhoto(sql: Sql, shopId: number, userId: number): Promise<number | null> {
  const [row] = await sql<{ awaiting_photo: string | null }[]>`
    select awaiting_photo from courier_contacts where shop_id = ${shopId} and tg_user_id = ${userId}`
  return row?.awaiting_photo ? Number(row.awaiting_photo) : null
}

/** One of the shop's enabled courier chats (where «🚚 Беру» counts). */
export async function isCourierChat(sql: Sql, shopId: number, chatId: string): Promise<boolean> {
  const [row] = await sql`select 1 from telegram_chats where shop_id = ${shopId} and chat_id = ${chatId} and enabled and role = 'courier' limit 1`
  return !!row
}
