import type { Keyboard } from '../../bot-api'
import type { Sql } from '../../platform/db/client'
import {
  deliveryFieldsOf,
  renderBuyerDeliveryNews,
  renderCourierCard,
  renderCourierCardRetired,
  renderCourierReport,
  renderUnaccepted,
  type DeliveryOutcome,
} from '../courier-messages'
import { markUnaccepted } from '../courier-outbox'
import type { KeyboardFor } from './order'
import type { MessageKind, Notification, Plan } from './kind'

/**
 * The courier feature's kinds: the delivery card in a courier chat (`courier_card`), what the courier
 * reported to the staff chats (`courier_report`), and the second call for an order nobody accepted
 * (`order_unaccepted`). A courier card reads only the fields a delivery needs: the buyer's name and
 * phone, the total and the items are not even loaded.
 */
export type CourierCardData = {
  number: string
  delivery_date: string | null
  delivery_time: string | null
  address: string | null
  recipient_name: string | null
  recipient_phone: string | null
  comment: string | null
  surprise: boolean
  status: string
  courier_name: string | null
  courier_at: string | null
  courier_released_at: string | null
  message_id: number | string | null
  message_chat_id: string | null
  message_sent_at: string | null
}

/** «🚚 Беру» under an open card (orders/courier-buttons.ts builds it; injected so imports run one way). */
export type CourierKeyboardFor = (o: { shop_id: string; order_id: string; status: string; courier_name: string | null }) => Keyboard | undefined

const loadCard = (sql: Sql) => sql`
  select o.number, o.delivery_date::text as delivery_date, o.delivery_time, o.address, o.recipient_name, o.recipient_phone, o.comment, o.surprise,
         o.status, o.courier_name, o.courier_at, o.courier_released_at,
         m.message_id, m.chat_id as message_chat_id, m.sent_at as message_sent_at
  from orders o
  left join telegram_messages m on m.order_id = d.order_id and m.chat_ref = d.chat_ref
  where o.id = d.order_id`

const cardText = (n: Notification<CourierCardData>) => {
  const o = n.data!
  return renderCourierCard(
    {
      ...deliveryFieldsOf(o),
      status: o.status,
      courierName: o.courier_name,
      courierAt: o.courier_at,
    },
    n.shop_name,
    n.time_zone,
  )
}

/** A card sent before staff took its courier off: it is retired and the order offered anew in a new message. */
const reopened = (o: CourierCardData) =>
  !!o.message_id && !!o.courier_released_at && !!o.message_sent_at && new Date(o.message_sent_at) < new Date(o.courier_released_at)

export function courierCardKind(keyboard: CourierKeyboardFor): MessageKind<CourierCardData> {
  const kb = (n: Notification<CourierCardData>) =>
    keyboard({ shop_id: n.shop_id, order_id: n.order_id!, status: n.data!.status, courier_name: n.data!.courier_name })
  const fresh = (n: Notification<CourierCardData>): Plan => ({ send: { method: 'sendMessage', text: cardText(n), keyboard: kb(n) }, ownMessage: true })
  return {
    name: 'courier_card',
    load: loadCard,
    moot: (n) =>
      !n.data?.message_id && (n.data?.status === 'done' || n.data?.status === 'cancelled') ? `no delivery card: the order is ${n.data.status}` : null,
    plan: (n) => {
      const o = n.data!
      if (o.message_id && o.message_chat_id && !reopened(o))
        return {
          send: { method: 'editMessageText', chatId: o.message_chat_id, messageId: Number(o.message_id), text: cardText(n), keyboard: kb(n) },
          ownMessage: true,
        }
      return fresh(n)
    },
    messageGone: fresh,
    // the new card is recorded; the old one (read before) loses its button
    afterSent: async (n, _sent, ctx) => {
      const o = n.data!
      if (!reopened(o) || !ctx.client || !ctx.token) return
      await ctx.client
        .editMessageText(ctx.token, { chatId: o.message_chat_id!, messageId: Number(o.message_id), text: renderCourierCardRetired(o.number) })
        .catch(() => {})
    },
  }
}

export type CourierReportData = {
  number: string
  address: string | null
  courier_name: string | null
  delivery_photo: string | null
  message_id: number | string | null
}

/** What the courier reported, as a reply to the order's message in a staff chat; a delivery with its photo. */
export const courierReportKind: MessageKind<CourierReportData> = {
  name: 'courier_report',
  load: (sql) => sql`
    select o.number, o.address, o.courier_name, o.delivery_photo, m.message_id
    from orders o left join telegram_messages m on m.order_id = d.order_id and m.chat_ref = d.chat_ref
    where o.id = d.order_id`,
  plan: (n) => {
    const o = n.data!
    const outcome = n.due_key!.split(':')[0] as DeliveryOutcome
    const text = renderCourierReport({ number: o.number, courierName: o.courier_name, address: o.address }, outcome)
    const replyToMessageId = o.message_id ? Number(o.message_id) : null
    const photo = outcome === 'delivered' ? o.delivery_photo : null
    return photo ? { send: { method: 'sendPhoto', photo, caption: text, replyToMessageId } } : { send: { method: 'sendMessage', text, replyToMessageId } }
  },
}

/** The delivery news for the buyer, in plain words (the photo of the handover when there is one). */
export const courierBuyerNewsKind: MessageKind<{ number: string; delivery_photo: string | null }> = {
  name: 'courier_buyer_news',
  load: (sql) => sql`select o.number, o.delivery_photo from orders o where o.id = d.order_id`,
  plan: (n) => {
    const outcome = n.due_key!.split(':')[0] as DeliveryOutcome
    const text = renderBuyerDeliveryNews(n.data!.number, outcome)
    const photo = outcome === 'delivered' ? n.data!.delivery_photo : null
    return photo ? { send: { method: 'sendPhoto', photo, caption: text } } : { send: { method: 'sendMessage', text } }
  },
}

export type UnacceptedData = {
  number: string
  status: string
  created_at: string
  accept_within_minutes: number | null
  message_id: number | string | null
}

/** The second call: a reply to the order's message, with «Принять», ringing even inside quiet hours. */
export function orderUnacceptedKind(keyboard?: KeyboardFor): MessageKind<UnacceptedData> {
  return {
    name: 'order_unaccepted',
    load: (sql) => sql`
      select o.number, o.status, o.created_at, s2.accept_within_minutes, m.message_id
      from orders o join shops s2 on s2.id = o.shop_id
      left join telegram_messages m on m.order_id = d.order_id and m.chat_ref = d.chat_ref
      where o.id = d.order_id`,
    // accepted (or cancelled) in time: the second call is not needed
    moot: (n) => (n.data && n.data.status !== 'new' ? `no second call: the order is ${n.data.status}` : null),
    plan: async (n, ctx) => {
      const o = n.data!
      await markUnaccepted(ctx.sql, n.shop_id, n.order_id!, o.accept_within_minutes)
      return {
        send: {
          method: 'sendMessage',
          text: renderUnaccepted({ number: o.number, createdAt: o.created_at }, o.accept_within_minutes ?? 0, n.time_zone),
          keyboard: keyboard?.({ shop_id: n.shop_id, order_id: n.order_id, status: o.status, chat_id: n.chat_id }),
          replyToMessageId: o.message_id ? Number(o.message_id) : null,
        },
        loud: true,
      }
    },
  }
}
