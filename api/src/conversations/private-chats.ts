import type { Sql } from '../platform/db/client'

/**
 * A person's private chat with the shop's bot (a buyer, a courier): the target of the notifications
 * sent to them, with its own pacing slot. One row per (shop, chat); the first name is refreshed on
 * every message, since it is all the staff ever see of the person.
 */
export async function ensurePrivateChat(tx: Sql, shopId: number, chatId: string, firstName: string | null): Promise<string> {
  const [row] = await tx<{ id: string }[]>`
    insert into telegram_private_chats (shop_id, chat_id, first_name)
    values (${shopId}, ${chatId}, ${firstName})
    on conflict (shop_id, chat_id) do update set first_name = coalesce(excluded.first_name, telegram_private_chats.first_name)
    returning id`
  return row!.id
}

/** A private chat's row by its Telegram chat id, or null when the person never wrote to this shop's bot. */
export async function findPrivateChat(sql: Sql, shopId: number, chatId: string): Promise<{ id: string; first_name: string | null } | null> {
  const [row] = await sql<{ id: string; first_name: string | null }[]>`
    select id, first_name from telegram_private_chats where shop_id = ${shopId} and chat_id = ${chatId}`
  return row ?? null
}
