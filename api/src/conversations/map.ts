import type { Sql } from '../platform/db/client'

/**
 * The conversation map: a message a person (buyer, courier) or a staff member said through the bot,
 * and the copies the bot made of it in other chats. A reply to a copy finds the original, so it goes
 * back to the other side; identities never cross (the staff see a first name, the person sees the
 * shop). Messages are kept `KEEP_DAYS` days.
 */
export const KEEP_DAYS = 30

export type ConversationMessage = {
  id: string
  order_id: string
  party: string
  private_chat_ref: string
  direction: 'in' | 'out'
  author: string | null
  body: string | null
  photo_file_id: string | null
  at: Date
}

/**
 * Records a message once (by its chat and message id: a redelivered update records nothing) and drops
 * the shop's messages older than `KEEP_DAYS`. Null when it was already recorded.
 */
export async function recordMessage(
  tx: Sql,
  m: {
    shopId: number
    orderId: number | string
    party: string
    privateChatRef: string
    direction: 'in' | 'out'
    author?: string | null
    body?: string | null
    photoFileId?: string | null
    fromChatId: string
    fromMessageId: number
  },
): Promise<string | null> {
  await tx`delete from conversation_messages where shop_id = ${m.shopId} and at < now() - make_interval(days => ${KEEP_DAYS})`
  const [row] = await tx<{ id: string }[]>`
    insert into conversation_messages (shop_id, order_id, party, private_chat_ref, direction, author, body, photo_file_id, from_chat_id, from_message_id)
    values (${m.shopId}, ${m.orderId}, ${m.party}, ${m.privateChatRef}, ${m.direction}, ${m.author ?? null}, ${m.body ?? null},
            ${m.photoFileId ?? null}, ${m.fromChatId}, ${m.fromMessageId})
    on conflict (shop_id, from_chat_id, from_message_id) do nothing
    returning id`
  return row?.id ?? null
}

/** The bot made a copy of a conversation message in a chat (after Telegram accepted it). */
export async function recordCopy(sql: Sql, c: { messageRef: string; shopId: number | string; chatId: string; messageId: number }): Promise<void> {
  await sql`
    insert into conversation_copies (message_ref, shop_id, chat_id, message_id)
    values (${c.messageRef}, ${c.shopId}, ${c.chatId}, ${c.messageId})
    on conflict do nothing`
}

/** The conversation message a chat's message is a copy of (a reply to it goes to the other side), or null. */
export async function findByCopy(sql: Sql, shopId: number, chatId: string, messageId: number): Promise<ConversationMessage | null> {
  const [row] = await sql<ConversationMessage[]>`
    select m.id, m.order_id, m.party, m.private_chat_ref, m.direction, m.author, m.body, m.photo_file_id, m.at
    from conversation_copies c join conversation_messages m on m.id = c.message_ref
    where c.shop_id = ${shopId} and c.chat_id = ${chatId} and c.message_id = ${messageId}
      and m.at > now() - make_interval(days => ${KEEP_DAYS})`
  return row ?? null
}

/** How many messages a person sent through the bot in the last hour (the relay's rate limit). */
export async function sentInLastHour(sql: Sql, privateChatRef: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from conversation_messages
    where private_chat_ref = ${privateChatRef} and direction = 'in' and at > now() - interval '1 hour'`
  return row?.n ?? 0
}

/** The conversations of these orders, oldest first, within `KEEP_DAYS`. */
export function messagesOf(sql: Sql, orderIds: (number | string)[]): Promise<ConversationMessage[]> {
  return sql<ConversationMessage[]>`
    select id, order_id, party, private_chat_ref, direction, author, body, photo_file_id, at
    from conversation_messages
    where order_id = any(${orderIds.map(String)}::bigint[]) and at > now() - make_interval(days => ${KEEP_DAYS})
    order by order_id, id`
}
