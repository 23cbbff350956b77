import { recordEvent } from '../events'
import { addPhoto } from '../conversations'
import { queueBuyerNews, queueCourierCards, queueCourierReports, queueOrderMessageEdits, queueStatusEdit, type DeliveryOutcome } from '../notifications'
import { insertAudit } from '../platform/audit'
import type { Sql } from '../platform/db/client'
import type { Actor } from '../platform/http/auth'
import { ORDER_COLUMNS, type OrderRow } from './repository'

/**
 * An order's courier, decided by the database: each statement here changes the order only from the
 * state it expects (no courier yet; this courier; still on its way), so parallel presses and replicas
 * agree on one outcome. Every change queues what Telegram must show and writes its platform event in
 * the same transaction.
 */

export type CourierOrderRow = OrderRow & { courier_tg_id: string | null; courier_card_chat_id: string | null; courier_card_message_id: string | null }
const COLUMNS = `${ORDER_COLUMNS}, courier_tg_id, courier_card_chat_id, courier_card_message_id`
const ON_ITS_WAY = ['assembling', 'delivering']

export async function findCourierOrder(sql: Sql, shopId: number, orderId: number): Promise<CourierOrderRow | null> {
  const [row] = await sql<CourierOrderRow[]>`select ${sql.unsafe(COLUMNS)} from orders where shop_id = ${shopId} and id = ${orderId}`
  return row ?? null
}

export type AssignResult = { assigned: true; order: CourierOrderRow } | { assigned: false; order: CourierOrderRow | null }

/** «🚚 Беру»: the first press takes the order (`courier_tg_id is null` decides); the cards and the staff messages follow. */
export async function assignCourier(sql: Sql, shopId: number, orderId: number, by: { name: string; tgId: number }): Promise<AssignResult> {
  return sql.begin(async (t) => {
    const tx = t as unknown as Sql
    const [row] = await tx<CourierOrderRow[]>`
      update orders set courier_name = ${by.name}, courier_tg_id = ${by.tgId}, courier_at = now(), courier_card_chat_id = null, courier_card_message_id = null
      where shop_id = ${shopId} and id = ${orderId} and courier_tg_id is null and status = any(${ON_ITS_WAY})
      returning ${tx.unsafe(COLUMNS)}`
    if (!row) return { assigned: false, order: await findCourierOrder(tx, shopId, orderId) }
    await queueCourierCards(tx, shopId, orderId)
    await queueOrderMessageEdits(tx, orderId)
    await recordEvent(tx, { shopId, type: 'delivery.assigned', orderId, data: { courier: { name: by.name } } })
    await insertAudit(tx, { shopId, actor: { kind: 'telegram', id: String(by.tgId), label: by.name }, action: 'courier_assigned', orderId })
    return { assigned: true, order: row }
  })
}

export type ReleaseResult =
  | { released: true; order: CourierOrderRow; previous: { tgId: string; chatId: string | null; messageId: string | null } }
  | { released: false }

/** Staff take the courier off: the card goes back to the couriers' chat (as a new message) and the courier's own card is retired. */
export async function releaseCourier(sql: Sql, shopId: number, orderId: number, actor: Actor): Promise<ReleaseResult> {
  return sql.begin(async (t) => {
    const tx = t as unknown as Sql
    const [row] = await tx<(CourierOrderRow & { prev_tg_id: string; prev_chat_id: string | null; prev_message_id: string | null; prev_name: string })[]>`
      with old as (select id, courier_name, courier_tg_id, courier_card_chat_id, courier_card_message_id from orders
                   where shop_id = ${shopId} and id = ${orderId} for update)
      update orders o set courier_name = null, courier_tg_id = null, courier_at = null, courier_released_at = now(),
             courier_card_chat_id = null, courier_card_message_id = null
      from old
      where o.id = old.id and old.courier_tg_id is not null and o.status = any(${ON_ITS_WAY})
      returning ${tx.unsafe(
        COLUMNS.split(', ')
          .map((c) => `o.${c}`)
          .join(', '),
      )},
                old.courier_tg_id as prev_tg_id, old.courier_card_chat_id as prev_chat_id, old.courier_card_message_id as prev_message_id, old.courier_name as prev_name`
    if (!row) return { released: false }
    await tx`update courier_contacts set awaiting_photo = null where shop_id = ${shopId} and awaiting_photo = ${orderId}`
    await queueCourierCards(tx, shopId, orderId)
    await queueOrderMessageEdits(tx, orderId)
    await recordEvent(tx, { shopId, type: 'order.updated', orderId, data: { changed: ['courier'], courier: null } })
    await insertAudit(tx, { shopId, actor, action: 'courier_released', orderId, details: { courier: row.prev_name } })
    return { released: true, order: row, previous: { tgId: row.prev_tg_id, chatId: row.prev_chat_id, messageId: row.prev_message_id } }
  })
}

/** The courier's private card was sent: remembered on the order, so it is edited when the delivery ends. */
export async function rememberPrivateCard(sql: Sql, orderId: number, tgId: number, chatId: string, messageId: number): Promise<void> {
  await sql`update orders set courier_card_chat_id = ${chatId}, courier_card_message_id = ${messageId} where id = ${orderId} and courier_tg_id = ${tgId}`
}

/**
 * «✅ Доставлено» (with the photo's file_id, or without): the order becomes `done` only for its own
 * courier and only while on its way; staff messages, the couriers' card and the staff reports follow.
 */
export async function completeDelivery(
  sql: Sql,
  shopId: number,
  orderId: number,
  courier: { tgId: number; name: string },
  photo: { fileId: string; fileUniqueId?: string | null } | null,
): Promise<CourierOrderRow | null> {
  return sql.begin(async (t) => {
    const tx = t as unknown as Sql
    const [row] = await tx<(CourierOrderRow & { from_status: string })[]>`
      with old as (select id, status from orders where shop_id = ${shopId} and id = ${orderId} for update)
      update orders o set status = 'done', delivery_photo = ${photo?.fileId ?? null}, delivered_at = now(), updated_at = now()
      from old
      where o.id = old.id and o.courier_tg_id = ${courier.tgId} and old.status = any(${ON_ITS_WAY})
      returning ${tx.unsafe(
        COLUMNS.split(', ')
          .map((c) => `o.${c}`)
          .join(', '),
      )}, old.status as from_status`
    if (!row) return null
    // the proof is one of the order's photos (the page shows it), kind 'delivery'
    const saved = photo
      ? await addPhoto(tx, {
          shopId,
          orderId,
          kind: 'delivery',
          fileId: photo.fileId,
          fileUniqueId: photo.fileUniqueId,
          byName: courier.name,
          byTgId: courier.tgId,
          ask: false,
        })
      : null
    if (saved) await tx`update orders set delivery_photo_id = ${saved.id} where id = ${orderId}`
    await tx`update courier_contacts set awaiting_photo = null where shop_id = ${shopId} and awaiting_photo = ${orderId}`
    await queueStatusEdit(tx, shopId, orderId, 'done')
    // the buyer hears «доставлен» from the status change (conversations); the photo comes on top
    if (saved) await queueBuyerNews(tx, orderId, 'delivered')
    await queueCourierCards(tx, shopId, orderId)
    await queueCourierReports(tx, shopId, orderId, 'delivered')
    await recordEvent(tx, {
      shopId,
      type: 'order.status_changed',
      orderId,
      data: { from: row.from_status, to: 'done', by: { source: 'telegram', name: courier.name } },
    })
    await recordEvent(tx, { shopId, type: 'delivery.completed', orderId, data: { courier: { name: courier.name }, photoId: saved ? Number(saved.id) : null } })
    await insertAudit(tx, {
      shopId,
      actor: { kind: 'telegram', id: String(courier.tgId), label: courier.name },
      action: 'order_status_changed',
      orderId,
      details: { status: 'done', delivered: true },
    })
    return row
  })
}

/** «📵 Не дозвонился» / «↩️ Вернул в магазин»: the staff chats are told; the order stays on its way. */
export async function reportDeliveryFailure(
  sql: Sql,
  shopId: number,
  orderId: number,
  courier: { tgId: number; name: string },
  reason: Exclude<DeliveryOutcome, 'delivered'>,
): Promise<CourierOrderRow | null> {
  return sql.begin(async (t) => {
    const tx = t as unknown as Sql
    const [row] = await tx<CourierOrderRow[]>`
      select ${tx.unsafe(COLUMNS)} from orders
      where shop_id = ${shopId} and id = ${orderId} and courier_tg_id = ${courier.tgId} and status = any(${ON_ITS_WAY})
      for update`
    if (!row) return null
    await queueCourierReports(tx, shopId, orderId, reason)
    await queueBuyerNews(tx, orderId, reason)
    await recordEvent(tx, { shopId, type: 'delivery.failed', orderId, data: { reason, courier: { name: courier.name } } })
    return row
  })
}
