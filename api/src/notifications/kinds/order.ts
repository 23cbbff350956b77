import type { Keyboard } from '../../bot-api'
import type { Sql } from '../../platform/db/client'
import { renderOrderMessage, renderStatusLine, type OrderItem } from '../message'
import { renderReminder } from '../summary'
import type { MessageKind, Notification, Plan } from './kind'

/**
 * The order's own kinds: the new-order message (`order`), the edit of it at each status change
 * (`order_status`) and the reminder before the delivery window (`delivery_reminder`). They share one
 * read: the order, this recipient's message of it, and the state of its new-order notification.
 */
export type OrderData = {
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
  items: OrderItem[] | null
  card_text: string | null
  surprise: boolean
  status: string
  accepted_by: string | null
  accepted_at: string | null
  /** fields changed since the order came in (the message marks them) */
  edited_fields: string[] | null
  /** when the delivery window starts, for a reminder ("in N minutes") */
  slot_starts_at: string | null
  /** this recipient's message of the order, once sent */
  message_id: number | string | null
  message_chat_id: string | null
  /** For a status edit: the state of this recipient's new-order notification (null when it had none). */
  order_delivery_state: 'pending' | 'done' | 'dead' | null
  /** The revision of this recipient's pending status edit when the row was read (new-order rows only). */
  pending_edit_revision: number | null
  /** who delivers it (couriers): the staff message shows it, with «Снять курьера» */
  courier_name: string | null
}

/** The buttons under an order's message (orders/buttons.ts builds them; injected so imports run one way). */
export type KeyboardFor = (o: {
  shop_id: string
  order_id: string | null
  status: string
  chat_id: string | null
  courier_name?: string | null
}) => Keyboard | undefined

/** The order family's read, over the outbox row `d` and its shop `s` (the shared statement's aliases). */
const loadOrder = (sql: Sql) => sql`
  select o.number, o.total::text as total, o.customer_name, o.customer_phone, o.recipient_name, o.recipient_phone,
         o.delivery_date::text as delivery_date, o.delivery_time, o.address, o.comment, o.items, o.card_text, o.surprise,
         o.status, o.accepted_by, o.accepted_at, o.edited_fields, o.courier_name,
         case when o.delivery_date is not null and o.delivery_slot_from is not null
              then (o.delivery_date + o.delivery_slot_from) at time zone s.time_zone end as slot_starts_at,
         m.message_id, m.chat_id as message_chat_id,
         (select od.state from telegram_outbox od where od.order_id = d.order_id and od.kind = 'order' and od.chat_ref = d.chat_ref) as order_delivery_state,
         -- read with the order's status in one snapshot: the edit this revision asks for shows that status
         (select pe.revision from telegram_outbox pe
          where d.kind = 'order' and pe.order_id = d.order_id and pe.kind = 'order_status' and pe.chat_ref = d.chat_ref and pe.state = 'pending') as pending_edit_revision
  from orders o
  left join telegram_messages m on m.order_id = d.order_id and m.chat_ref = d.chat_ref
  where o.id = d.order_id`

/** The order's message as a recipient sees it now. */
export function orderText(n: Notification<OrderData>): string {
  const o = n.data
  if (!o) return ''
  return renderOrderMessage(
    {
      number: o.number,
      total: o.total,
      customerName: o.customer_name,
      customerPhone: o.customer_phone,
      recipientName: o.recipient_name,
      recipientPhone: o.recipient_phone,
      deliveryDate: o.delivery_date,
      deliveryTime: o.delivery_time,
      address: o.address,
      comment: o.comment,
      items: o.items,
      cardText: o.card_text,
      surprise: o.surprise,
      status: o.status,
      acceptedBy: o.accepted_by,
      acceptedAt: o.accepted_at,
      editedFields: o.edited_fields,
      courierName: o.courier_name,
    },
    n.shop_name,
    n.time_zone,
  )
}

const keyboardOf = (keyboard: KeyboardFor | undefined, n: Notification<OrderData>) =>
  keyboard?.({ shop_id: n.shop_id, order_id: n.order_id, status: n.data?.status ?? '', chat_id: n.chat_id, courier_name: n.data?.courier_name })

/** A new order: its message, with «Принять» while it is new; a pending edit it already shows is settled. */
export function orderKind(keyboard?: KeyboardFor): MessageKind<OrderData> {
  return {
    name: 'order',
    load: loadOrder,
    logText: orderText,
    plan: (n) => ({
      send: { method: 'sendMessage', text: orderText(n), keyboard: keyboardOf(keyboard, n) },
      ownMessage: true,
      // the new-order message already shows the current status: a pending edit to it is moot
      settleEditRevision: n.data?.pending_edit_revision ?? null,
    }),
    afterSent: (n, _sent, ctx) => {
      ctx.metrics?.newOrderLag.observe((Date.now() - new Date(n.created_at).getTime()) / 1000)
    },
  }
}

/** How long a status edit waits for the notification it edits before looking again. */
const STATUS_EDIT_WAIT_MS = 2000

/**
 * A status change: the recipient's message is edited in place; a recipient that never got the order
 * (it follows statuses or cancellations only) gets one line; a deleted message is replaced by a new one.
 */
export function orderStatusKind(keyboard?: KeyboardFor): MessageKind<OrderData> {
  const fresh = (n: Notification<OrderData>): Plan => ({
    send: { method: 'sendMessage', text: orderText(n), keyboard: keyboardOf(keyboard, n) },
    ownMessage: true,
  })
  return {
    name: 'order_status',
    load: loadOrder,
    logText: orderText,
    plan: (n) => {
      const o = n.data!
      if (o.message_id && o.message_chat_id)
        return {
          send: {
            method: 'editMessageText',
            chatId: o.message_chat_id,
            messageId: Number(o.message_id),
            text: orderText(n),
            keyboard: keyboardOf(keyboard, n),
          },
          ownMessage: true,
        }
      // Nothing to edit yet. While the notification itself is still on its way it will carry the
      // current status anyway, but it may be in flight with the old one: look again shortly.
      if (o.order_delivery_state === 'pending') return { wait: new Date(Date.now() + STATUS_EDIT_WAIT_MS), reason: 'ждём отправки уведомления о заказе' }
      if (o.order_delivery_state === 'dead') return { skip: 'уведомление о заказе не было отправлено: редактировать нечего' }
      // sent, but its message is not on record: the order's message again, with the current status
      if (o.order_delivery_state === 'done') return fresh(n)
      // a recipient that never got the order (it follows statuses or cancellations only) gets one line
      return { send: { method: 'sendMessage', text: renderStatusLine({ number: o.number, status: o.status, acceptedBy: o.accepted_by }, n.shop_name) } }
    },
    // The message was deleted: one new message with the current status.
    messageGone: fresh,
  }
}

/** «⏰ Через 60 минут доставка»: a reply under the order's message, only while nobody has started on it. */
export const deliveryReminderKind: MessageKind<OrderData> = {
  name: 'delivery_reminder',
  load: loadOrder,
  logText: orderText,
  moot: (n) => {
    const status = n.data?.status
    // already assembling, out for delivery, done or cancelled: nobody needs reminding
    return status !== 'new' && status !== 'accepted' ? `no reminder: the order is ${status}` : null
  },
  plan: (n) => {
    const o = n.data!
    const minutes = o.slot_starts_at ? Math.max(0, Math.round((new Date(o.slot_starts_at).getTime() - Date.now()) / 60_000)) : 0
    return {
      send: {
        method: 'sendMessage',
        text: renderReminder(
          { number: o.number, status: o.status, deliveryTime: o.delivery_time, address: o.address, recipientName: o.recipient_name },
          minutes,
        ),
        replyToMessageId: o.message_id ? Number(o.message_id) : null,
      },
    }
  },
}
