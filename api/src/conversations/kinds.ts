import type { ErrorCode } from '../bot-api'
import type { KindContext, MessageKind } from '../notifications'
import type { Sql } from '../platform/db/client'
import type { TokenCipher } from '../platform/crypto'
import { photoCallbackData } from './buyer-link'
import { recordCopy } from './map'
import { APPROVE_BUTTON, buyerGreeting, buyerStatusText, CHANGE_BUTTON, photoAnswerText, photoCaption, relayCaption, relayText, type BuyerOrder } from './texts'

/**
 * The conversation's message kinds, each a module on the one outbox (notifications/kinds):
 * to the buyer's private chat — `buyer_update` (the greeting, each status), `buyer_photo` (the bouquet
 * with its two buttons), `buyer_reply` (a staff reply, copied, so it comes from the shop);
 * to the recipient chats, under the order's message — `buyer_relay` (what the buyer wrote),
 * `photo_answer` (the buyer's answer about the photo).
 */

/** What a buyer's message needs: the order as the buyer sees it, and whether they still follow it. */
type ForBuyer = BuyerOrder & { subscribed: boolean | null }
const loadForBuyer = (sql: Sql) => sql`
  select o.number, o.delivery_date::text as delivery_date, o.delivery_time, o.items, o.status, b.subscribed
  from orders o left join order_buyers b on b.order_id = o.id and b.private_chat_ref = d.private_chat_ref
  where o.id = d.order_id`
const unsubscribed = (n: { data: ForBuyer | null }) => (n.data?.subscribed ? null : 'the buyer does not follow the order (any more)')
/** The buyer blocked the bot (or their account is gone): they follow nothing of this shop any more, and the page says so. */
const GONE: readonly ErrorCode[] = ['bot_blocked', 'chat_not_found', 'forbidden']
const unsubscribeWhenGone = async (n: { private_chat_ref: string | null }, code: ErrorCode, ctx: KindContext) => {
  if (GONE.includes(code) && n.private_chat_ref)
    await ctx.sql`update order_buyers set subscribed = false, stopped_at = now() where private_chat_ref = ${n.private_chat_ref} and subscribed`
}

/** What a message to the staff needs: the order's number and this chat's message of it (to reply under). */
type ForStaff = { number: string; order_message_id: number | string | null }
const loadForStaff = (sql: Sql) => sql`
  select o.number, m.message_id as order_message_id
  from orders o left join telegram_messages m on m.order_id = o.id and m.chat_ref = d.chat_ref
  where o.id = d.order_id`
const underOrder = (n: { data: ForStaff | null }) => (n.data?.order_message_id ? Number(n.data.order_message_id) : null)

type Payload<T> = T & Record<string, unknown>

export const buyerUpdateKind: MessageKind<ForBuyer> = {
  name: 'buyer_update',
  load: loadForBuyer,
  moot: unsubscribed,
  afterFailed: unsubscribeWhenGone,
  plan: (n) => {
    const p = n.payload as Payload<{ greeting?: boolean; resumed?: boolean; status?: string }>
    if (p.greeting) return { send: { method: 'sendMessage', text: buyerGreeting(n.shop_name, n.data!, !!p.resumed) } }
    const text = buyerStatusText(n.shop_name, n.data!.number, p.status ?? '')
    return text ? { send: { method: 'sendMessage', text } } : { skip: `nothing to tell about ${p.status}` }
  },
}

export function buyerPhotoKind(cipher: TokenCipher): MessageKind<ForBuyer> {
  return {
    name: 'buyer_photo',
    load: loadForBuyer,
    moot: unsubscribed,
    afterFailed: unsubscribeWhenGone,
    plan: (n) => {
      const p = n.payload as Payload<{ photoId: string; fileId: string }>
      return {
        send: {
          method: 'sendPhoto',
          photo: p.fileId,
          caption: photoCaption(n.data!.number),
          keyboard: [
            [
              { text: APPROVE_BUTTON, callbackData: photoCallbackData(cipher, n.shop_id, p.photoId, 'a') },
              { text: CHANGE_BUTTON, callbackData: photoCallbackData(cipher, n.shop_id, p.photoId, 'c') },
            ],
          ],
        },
      }
    },
  }
}

/** A relayed message: where it came from, and the conversation message it is a copy of. */
type Relay = Payload<{
  messageRef: string
  fromChatId: string
  messageId: number
  text?: string | null
  caption?: string | null
  captioned?: boolean
  firstName?: string
}>

export const buyerReplyKind: MessageKind<ForBuyer> = {
  name: 'buyer_reply',
  load: loadForBuyer,
  moot: unsubscribed,
  afterFailed: unsubscribeWhenGone,
  // a copy carries no author: the buyer hears the shop
  plan: (n) => {
    const p = n.payload as Relay
    return { send: { method: 'copyMessage', fromChatId: p.fromChatId, messageId: p.messageId } }
  },
  afterSent: (n, sent, ctx) =>
    recordCopy(ctx.sql, { messageRef: (n.payload as Relay).messageRef, shopId: n.shop_id, chatId: sent.chatId, messageId: sent.messageId }),
}

export const buyerRelayKind: MessageKind<ForStaff> = {
  name: 'buyer_relay',
  load: loadForStaff,
  plan: (n) => {
    const p = n.payload as Relay
    const replyToMessageId = underOrder(n)
    if (p.text != null) return { send: { method: 'sendMessage', text: relayText(p.firstName ?? '', p.text), replyToMessageId } }
    return {
      send: {
        method: 'copyMessage',
        fromChatId: p.fromChatId,
        messageId: p.messageId,
        // a sticker or a video note cannot carry a caption: its copy goes bare, under the order's message
        caption: p.captioned === false ? undefined : relayCaption(p.firstName ?? '', p.caption ?? null),
        replyToMessageId,
      },
    }
  },
  afterSent: (n, sent, ctx) =>
    recordCopy(ctx.sql, { messageRef: (n.payload as Relay).messageRef, shopId: n.shop_id, chatId: sent.chatId, messageId: sent.messageId }),
}

export const photoAnswerKind: MessageKind<ForStaff> = {
  name: 'photo_answer',
  load: loadForStaff,
  plan: (n) => {
    const p = n.payload as Payload<{ firstName: string; approval: 'approved' | 'changes_requested'; comment: string | null }>
    return { send: { method: 'sendMessage', text: photoAnswerText(n.data!.number, p.firstName, p.approval, p.comment), replyToMessageId: underOrder(n) } }
  },
}

/** Every kind of this feature, for the registry (wiring.ts). */
export const conversationKinds = (cipher: TokenCipher): MessageKind<never>[] =>
  [buyerUpdateKind, buyerPhotoKind(cipher), buyerReplyKind, buyerRelayKind, photoAnswerKind] as MessageKind<never>[]
