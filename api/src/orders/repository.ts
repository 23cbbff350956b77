import type { Sql } from '../platform/db/client'
import { queueBuyerStatus } from '../conversations'
import {
  isPacedSql,
  QUIET_OUTBOX_SQL,
  queueCourierCards,
  queueStatusEdit,
  reserveSlot,
  settleUnaccepted,
  UNACCEPTED_OUTBOX_SQL,
  type NotificationRow,
  type Pacing,
} from '../notifications'
import { ORDER_CREATED_EVENT_SQL, recordEvent, type ChangeSource } from '../events'
import type { CreateOrderInput, EditableField, Order } from './schema'

export type OrderRow = {
  /** the shop's bot, when one is connected (the buyer link's address); only where a query selects it */
  bot_username?: string | null
  id: string
  shop_id: string
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
  items: { name: string; quantity: number; price?: string | null }[] | null
  card_text: string | null
  surprise: boolean
  status: string
  accepted_by: string | null
  accepted_at: Date | null
  created_at: Date
  courier_name: string | null
  courier_at: Date | null
  delivery_photo: string | null
  delivery_photo_id: string | null
  delivered_at: Date | null
}

export const ORDER_COLUMNS =
  'id, shop_id, number, total::text as total, customer_name, customer_phone, recipient_name, recipient_phone, delivery_date::text as delivery_date, delivery_time, address, comment, items, card_text, surprise, status, accepted_by, accepted_at, created_at, courier_name, courier_at, delivery_photo, delivery_photo_id, delivered_at'

/** The same columns qualified with the `o` alias, for queries that join orders with other tables. */
export const ORDER_COLUMNS_OF_O = ORDER_COLUMNS.split(', ')
  .map((c) => 'o.' + c)
  .join(', ')

export const toOrder = (r: OrderRow): Order => ({
  id: Number(r.id),
  shopId: Number(r.shop_id),
  number: r.number,
  total: r.total,
  customerName: r.customer_name,
  customerPhone: r.customer_phone,
  recipientName: r.recipient_name,
  recipientPhone: r.recipient_phone,
  deliveryDate: r.delivery_date,
  deliveryTime: r.delivery_time,
  address: r.address,
  comment: r.comment,
  items: r.items ? r.items.map((i) => ({ name: i.name, quantity: i.quantity, price: i.price ?? null })) : null,
  cardText: r.card_text,
  surprise: r.surprise,
  status: r.status,
  acceptedBy: r.accepted_by,
  acceptedAt: r.accepted_at ? new Date(r.accepted_at).toISOString() : null,
  createdAt: new Date(r.created_at).toISOString(),
  courier: r.courier_name ? { name: r.courier_name, at: r.courier_at ? new Date(r.courier_at).toISOString() : null } : null,
  deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
  deliveryPhoto: r.delivery_photo_id ? { id: Number(r.delivery_photo_id), url: `/shops/${r.shop_id}/orders/${r.id}/photos/${r.delivery_photo_id}` } : null,
})

/** A new-order notification as intake returns it: `leased` false means it is the dispatcher's from the start. */
export type IntakeNotification = NotificationRow & { leased: boolean }

export type InsertResult =
  | { created: true; order: OrderRow; notifications: IntakeNotification[] }
  | { created: false; order: OrderRow; sendStatus: 'SENT' | 'FAILED' | null; outboxState: string | null }

/** One order handed to intake. */
export type NewOrder = { shopId: number; input: CreateOrderInput }

/** The key of an order within a batch: its shop and number (what `ON CONFLICT` decides on). */
export const orderKey = (shopId: number | string, number: string) => `${shopId}\u0000${number}`

/** PostgreSQL's foreign_key_violation: the shop of the order does not exist (deleted meanwhile). */
export const isUnknownShop = (err: unknown) => (err as { code?: string })?.code === '23503'

/**
 * Inserts a batch of new orders in ONE statement (arrays through `unnest`; DESIGN.md "Write in
 * batches"), each once per (shop, number): the unique constraint decides between concurrent
 * duplicates, and an order it did not create (a repeat, an unknown shop) is simply absent from the
 * result. With each order, in the same statement: its `order.created` event, one new-order outbox row
 * per recipient, the reminder rows and the second call's row, and the first attempt's pacing slot.
 *
 * The slot is taken only where it is free now and the chat's row is not busy (SKIP LOCKED: a send
 * being recorded holds it), so no chat serializes intake. The first order of a chat in the batch (and
 * every order of an unpaced private chat) is leased to its request's first attempt; the others are
 * left unleased, the dispatcher's from the start. The result carries everything that attempt needs,
 * as `loadNotification` would read it, so the request reads nothing more.
 */
export async function insertOrders(
  sql: Sql,
  batch: NewOrder[],
  owner: string,
  leaseSec: number,
  pacing: Pacing,
): Promise<Map<string, InsertResult & { created: true }>> {
  const col = <T>(f: (o: CreateOrderInput) => T) => batch.map((p) => f(p.input))
  // a later order of a chat in the same batch may go out in its request only where nothing paces the chat
  const unpaced = pacing.chatIntervalMs === 0
  const rows = await sql<(OrderRow & { notifications: IntakeNotification[] | null })[]>`
    with x as (
      -- every column goes over the wire as a text array and is cast here
      select x.shop_id::bigint as shop_id, x.number, x.total::numeric as total, x.customer_name, x.customer_phone, x.recipient_name,
             x.recipient_phone, x.delivery_date::date as delivery_date, x.delivery_time, x.slot_from::time as slot_from, x.slot_to::time as slot_to,
             x.address, x.comment, x.items::jsonb as items, x.card_text, x.surprise::boolean as surprise
      from unnest(${batch.map((p) => String(p.shopId))}::text[], ${col((o) => o.number)}::text[], ${col((o) => o.total)}::text[],
                  ${col((o) => o.customerName)}::text[], ${col((o) => o.customerPhone ?? null)}::text[], ${col((o) => o.recipientName ?? null)}::text[],
                  ${col((o) => o.recipientPhone ?? null)}::text[], ${col((o) => o.deliveryDate ?? null)}::text[], ${col((o) => o.deliveryTime.text)}::text[],
                  ${col((o) => o.deliveryTime.from)}::text[], ${col((o) => o.deliveryTime.to)}::text[], ${col((o) => o.address ?? null)}::text[],
                  ${col((o) => o.comment ?? null)}::text[], ${col((o) => (o.items ? JSON.stringify(o.items) : null))}::text[],
                  ${col((o) => o.cardText ?? null)}::text[], ${col((o) => String(o.surprise ?? false))}::text[])
           as x(shop_id, number, total, customer_name, customer_phone, recipient_name, recipient_phone, delivery_date, delivery_time,
                slot_from, slot_to, address, comment, items, card_text, surprise)
           -- quiet: the requests and this process's dispatcher take what the batch leaves (QUIET_OUTBOX_SQL)
           cross join (select ${sql.unsafe(QUIET_OUTBOX_SQL)}) quiet
      -- an unknown shop's order is left out (it would fail the whole batch): it gets its 404 on its own
      where exists (select 1 from shops s where s.id = x.shop_id::bigint) and quiet.quiet_outbox = 'on'),
    o as (
      insert into orders (shop_id, number, total, customer_name, customer_phone, recipient_name, recipient_phone,
                          delivery_date, delivery_time, delivery_slot_from, delivery_slot_to, address, comment, items, card_text, surprise, event_seq)
      select shop_id, number, total, customer_name, customer_phone, recipient_name, recipient_phone,
             delivery_date, delivery_time, slot_from, slot_to, address, comment, items, card_text, surprise, 1
      -- in key order: two replicas' batches take the unique index entries in the same order (no deadlock)
      from x order by shop_id, number
      on conflict (shop_id, number) do nothing
      returning ${sql.unsafe(ORDER_COLUMNS)}, delivery_slot_from),
    -- the platform hears of each order in the order's own statement (event sequence 1)
    ev as (${sql.unsafe(ORDER_CREATED_EVENT_SQL('o'))}),
    -- the recipients of each new order (one new-order notification each)
    rc as (
      select o.id as order_id, o.shop_id, c.id as chat_ref, c.chat_id
      from o
      join telegram_integrations i on i.shop_id = o.shop_id and i.enabled
      join telegram_chats c on c.shop_id = o.shop_id and c.enabled and 'order_created' = any(c.events)),
    -- each chat's slot, once per batch, only where it is free now and its row is not busy (never waits)
    slot as (
      update telegram_chats c set ${reserveSlot(sql, pacing)}
      where c.id in (select f.id from telegram_chats f
                     where f.id in (select chat_ref from rc) and (f.next_send_at is null or f.next_send_at <= now())
                       -- a paced chat with a send still in flight waits for it (the dispatcher's rule too)
                       and (not ${isPacedSql(sql, pacing, 'f')} or not exists (
                             select 1 from telegram_outbox b where b.chat_ref = f.id and b.state = 'pending' and b.locked_until > now()))
                     for no key update skip locked)
      returning c.id),
    first as (select chat_ref, min(order_id) as order_id from rc group by chat_ref),
    d as (
      insert into telegram_outbox (shop_id, order_id, kind, chat_ref, locked_by, locked_until)
      select rc.shop_id, rc.order_id, 'order', rc.chat_ref,
             case when t.taken then ${owner} end, case when t.taken then now() + make_interval(secs => ${leaseSec}) end
      from rc
      cross join lateral (
        select exists (select 1 from slot where slot.id = rc.chat_ref)
               and (exists (select 1 from first f where f.chat_ref = rc.chat_ref and f.order_id = rc.order_id)
                    or (${unpaced} and not chat_is_group(rc.chat_id))) as taken) t
      order by rc.order_id, rc.chat_ref
      returning id, shop_id, order_id, kind, state, attempts, revision, created_at, chat_ref, locked_by is not null as leased),
    -- a reminder before the delivery window, per recipient that wants it, due lead minutes before it starts
    r as (
      insert into telegram_outbox (shop_id, order_id, kind, chat_ref, next_attempt_at)
      select o.shop_id, o.id, 'delivery_reminder', c.id,
             ((o.delivery_date::date + o.delivery_slot_from) at time zone sh.time_zone) - make_interval(mins => sh.reminder_lead_minutes)
      from o
      join shops sh on sh.id = o.shop_id
      join telegram_integrations i on i.shop_id = o.shop_id and i.enabled
      join telegram_chats c on c.shop_id = o.shop_id and c.enabled and 'delivery_reminder' = any(c.events)
      where o.delivery_date is not null and o.delivery_slot_from is not null
        and ((o.delivery_date::date + o.delivery_slot_from) at time zone sh.time_zone) > now()
      returning id),
    -- the second call, if nobody accepts the order in time (sql/023)
    u as (${sql.unsafe(UNACCEPTED_OUTBOX_SQL('o'))})
    -- what each first attempt needs (as loadNotification reads it), so the request reads nothing more
    select o.*, (
      select json_agg(json_build_object(
               'slot_taken', d.leased, 'leased', d.leased, 'id', d.id::text, 'shop_id', d.shop_id::text,
               'order_id', d.order_id::text, 'kind', d.kind, 'state', d.state, 'attempts', d.attempts, 'revision', d.revision,
               'created_at', d.created_at, 'chat_ref', d.chat_ref::text, 'private_chat_ref', null, 'due_key', null, 'payload', null,
               'shop_name', sh.name, 'time_zone', sh.time_zone,
               'bot_token', i.bot_token, 'chat_id', c.chat_id, 'enabled', i.enabled and c.enabled, 'thread_id', c.thread_id::text,
               'quiet_from', c.quiet_from::text, 'quiet_to', c.quiet_to::text,
               -- the order kind's read (notifications/kinds/order.ts), as it would load it
               'data', json_build_object(
                 'number', o.number, 'total', o.total, 'customer_name', o.customer_name, 'customer_phone', o.customer_phone,
                 'recipient_name', o.recipient_name, 'recipient_phone', o.recipient_phone, 'delivery_date', o.delivery_date,
                 'delivery_time', o.delivery_time, 'address', o.address, 'comment', o.comment, 'items', o.items, 'card_text', o.card_text,
                 'surprise', o.surprise, 'status', o.status, 'accepted_by', o.accepted_by, 'accepted_at', o.accepted_at,
                 'edited_fields', null, 'slot_starts_at', null, 'message_id', null, 'message_chat_id', null,
                 'order_delivery_state', null, 'pending_edit_revision', null, 'courier_name', null)) order by d.id)
      from d
      join shops sh on sh.id = d.shop_id
      join telegram_integrations i on i.shop_id = d.shop_id
      join telegram_chats c on c.id = d.chat_ref
      where d.order_id = o.id) as notifications,
      (select i.bot_username from telegram_integrations i where i.shop_id = o.shop_id) as bot_username
    from o`
  const out = new Map<string, InsertResult & { created: true }>()
  for (const row of rows) {
    const { notifications, delivery_slot_from: _, ...order } = row as typeof row & { delivery_slot_from?: unknown }
    out.set(orderKey(order.shop_id, order.number), { created: true, order, notifications: notifications ?? [] })
  }
  return out
}

/**
 * An order intake did not create: the one already stored under its number (a repeat or a conflict),
 * with what became of its notification; null when there is none (the shop does not exist).
 */
export async function findExistingOrder(sql: Sql, shopId: number, number: string): Promise<(InsertResult & { created: false }) | null> {
  const [existing] = await sql<(OrderRow & { send_status: 'SENT' | 'FAILED' | null; outbox_state: string | null })[]>`
    select ${sql.unsafe(ORDER_COLUMNS_OF_O)},
           (select i.bot_username from telegram_integrations i where i.shop_id = o.shop_id) as bot_username,
           l.status as send_status,
           (select case when bool_or(d.state = 'pending') then 'pending' when count(*) > 0 then 'finished' end
            from telegram_outbox d where d.order_id = o.id and d.kind = 'order') as outbox_state
    from orders o
    left join telegram_send_log l on l.shop_id = o.shop_id and l.order_id = o.id
    where o.shop_id = ${shopId} and o.number = ${number}`
  if (!existing) return null
  const { send_status, outbox_state, ...order } = existing
  return { created: false, order, sendStatus: send_status, outboxState: outbox_state }
}

/** One order on its own (a batch of one): the order created, the one already stored, or null (unknown shop). */
export async function insertOrderOnce(
  sql: Sql,
  shopId: number,
  o: CreateOrderInput,
  owner: string,
  leaseSec: number,
  pacing: Pacing,
): Promise<InsertResult | null> {
  try {
    const created = (await insertOrders(sql, [{ shopId, input: o }], owner, leaseSec, pacing)).get(orderKey(shopId, o.number))
    if (created) return created
  } catch (err) {
    if (isUnknownShop(err)) return null
    throw err
  }
  return findExistingOrder(sql, shopId, o.number)
}

export async function findOrder(sql: Sql, shopId: number, orderId: number): Promise<OrderRow | null> {
  const [row] = await sql<OrderRow[]>`select ${sql.unsafe(ORDER_COLUMNS)} from orders where shop_id = ${shopId} and id = ${orderId}`
  return row ?? null
}

export type OrderWithNotificationRow = OrderRow & {
  /** who made the latest status change (audit trail), if anyone did */
  status_changed_by: string | null
  send_status: 'SENT' | 'FAILED' | null
  send_error: string | null
  send_error_code: string | null
  sent_at: Date | null
  send_attempts: number | null
  send_updated_at: Date | null
  outbox_state: string | null
  next_attempt_at: Date | null
  recipients: {
    id: number
    title: string | null
    chatId: string
    threadId: number | null
    state: string
    error: string | null
    errorCode: string | null
    sentAt: string | null
  }[]
}

/**
 * Orders newest first with their notification, keyset-paginated by id: a page never repeats or skips
 * rows when new orders arrive between requests.
 */
export async function listOrders(sql: Sql, shopId: number, limit: number, beforeId: number | null): Promise<OrderWithNotificationRow[]> {
  return sql<OrderWithNotificationRow[]>`
    select ${sql.unsafe(ORDER_COLUMNS_OF_O)},
           l.status as send_status, l.error as send_error, l.error_code as send_error_code, l.sent_at, l.attempts as send_attempts, l.updated_at as send_updated_at,
           d.outbox_state, d.next_attempt_at, d.recipients,
           (select a.actor_label from audit_log a where a.order_id = o.id and a.action = 'order_status_changed' order by a.id desc limit 1) as status_changed_by,
           (select i.bot_username from telegram_integrations i where i.shop_id = o.shop_id) as bot_username
    from orders o
    left join telegram_send_log l on l.shop_id = o.shop_id and l.order_id = o.id
    -- the new-order notifications of the order, one per recipient, summed up and listed
    left join lateral (
      select case when bool_or(x.state = 'pending') then 'pending' when bool_or(x.state = 'dead') then 'dead' when count(*) > 0 then 'done' end as outbox_state,
             min(x.next_attempt_at) filter (where x.state = 'pending') as next_attempt_at,
             coalesce(json_agg(json_build_object('id', c.id, 'title', c.title, 'chatId', c.chat_id, 'threadId', c.thread_id, 'state', x.state,
                                                 'error', x.last_error, 'errorCode', x.last_error_code, 'sentAt', m.sent_at) order by c.id)
                      filter (where c.id is not null), '[]') as recipients
      from telegram_outbox x
      left join telegram_chats c on c.id = x.chat_ref
      left join telegram_messages m on m.order_id = x.order_id and m.chat_ref = x.chat_ref
      where x.order_id = o.id and x.kind = 'order') d on true
    where o.shop_id = ${shopId} and (${beforeId}::bigint is null or o.id < ${beforeId})
    order by o.id desc
    limit ${limit}`
}

export type StatusChange = { changed: true; order: OrderRow; editQueued: boolean } | { changed: false; order: OrderRow | null }

/**
 * Moves an order to `to` only from one of `from`, in one statement, and queues the edit of its
 * Telegram message in the same transaction. Two people pressing «Принять» at once: the database
 * lets exactly one of them through.
 */
export async function changeOrderStatus(
  sql: Sql,
  shopId: number,
  orderId: number,
  to: string,
  from: readonly string[],
  by: { name: string; tgId: number | null } | null,
  source: ChangeSource['source'] = 'api',
): Promise<StatusChange> {
  return sql.begin(async (tx) => {
    // quiet: this process wakes its own dispatcher for what the change queues (QUIET_OUTBOX_SQL)
    const [before] = await tx<{ status: string }[]>`
      select status, ${tx.unsafe(QUIET_OUTBOX_SQL)} from orders where shop_id = ${shopId} and id = ${orderId} for update`
    const [row] = await tx<OrderRow[]>`
      update orders set
        status = ${to},
        accepted_by = case when ${to} = 'accepted' then ${by?.name ?? null} else accepted_by end,
        accepted_by_tg_id = case when ${to} = 'accepted' then ${by?.tgId ?? null}::bigint else accepted_by_tg_id end,
        accepted_at = case when ${to} = 'accepted' then now() else accepted_at end
      where shop_id = ${shopId} and id = ${orderId} and status = any(${from as string[]})
      returning ${tx.unsafe(ORDER_COLUMNS)}`
    if (!row) {
      const [current] = await tx<OrderRow[]>`select ${tx.unsafe(ORDER_COLUMNS)} from orders where shop_id = ${shopId} and id = ${orderId}`
      return { changed: false, order: current ?? null }
    }
    const editQueued = await queueStatusEdit(tx as unknown as Sql, shopId, orderId, to)
    await recordEvent(tx as unknown as Sql, {
      shopId,
      type: 'order.status_changed',
      orderId,
      data: { from: before!.status, to, by: { source, ...(by?.name ? { name: by.name } : {}) } },
    })
    // couriers: the card goes out when the bouquet is being assembled, and follows the order after that
    const cards = await queueCourierCards(tx as unknown as Sql, shopId, orderId, { create: to === 'assembling' })
    if (to !== 'new') await settleUnaccepted(tx as unknown as Sql, orderId)
    // the buyer hears of it too (conversations), in the same transaction; the outbox's NOTIFY wakes the dispatcher
    await queueBuyerStatus(tx as unknown as Sql, orderId, to)
    return { changed: true, order: row, editQueued: editQueued || cards }
  })
}

/** True when this chat's message is one we sent for the order (to any recipient): a button press on it counts. */
export async function isOrderMessage(sql: Sql, orderId: number, chatId: string, messageId: number): Promise<boolean> {
  const [row] = await sql`select 1 from telegram_messages where order_id = ${orderId} and chat_id = ${chatId} and message_id = ${messageId}`
  return !!row
}

/** A page of the shop's orders, newest first, for the bot's `/orders` (one more row than asked tells if there is a next page). */
export function latestOrders(sql: Sql, shopId: number, limit: number, offset: number): Promise<OrderRow[]> {
  return sql<OrderRow[]>`select ${sql.unsafe(ORDER_COLUMNS)} from orders where shop_id = ${shopId} order by id desc limit ${limit} offset ${offset}`
}

/** The shop's order by the number the shop gave it (`/order 1234`). */
export async function findOrderByNumber(sql: Sql, shopId: number, number: string): Promise<OrderRow | null> {
  const [row] = await sql<OrderRow[]>`select ${sql.unsafe(ORDER_COLUMNS)} from orders where shop_id = ${shopId} and number = ${number}`
  return row ?? null
}

/** A column per editable API field (the SQL side of `EDITABLE_FIELDS`). */
const FIELD_COLUMNS: Record<EditableField, string> = {
  total: 'total',
  customerName: 'customer_name',
  customerPhone: 'customer_phone',
  recipientName: 'recipient_name',
  recipientPhone: 'recipient_phone',
  deliveryDate: 'delivery_date',
  deliveryTime: 'delivery_time',
  address: 'address',
  comment: 'comment',
  items: 'items',
  cardText: 'card_text',
  surprise: 'surprise',
}

/** The fields a courier's delivery card shows (notifications/courier-messages.ts). */
const COURIER_CARD_FIELDS: EditableField[] = ['deliveryDate', 'deliveryTime', 'address', 'recipientName', 'recipientPhone', 'comment', 'surprise']

export type FieldValues = Partial<Record<EditableField, unknown>> & { deliverySlot?: { from: string | null; to: string | null } }

export type EditResult = { state: 'missing' } | { state: 'closed'; order: OrderRow } | { state: 'edited'; order: OrderRow; changed: EditableField[] }

/**
 * Applies the fields that differ from the stored order, in one transaction with everything that
 * follows from them: `order.updated` (the changed field names), an edit of every recipient's message
 * (the same coalescing row a status change uses, so edits of one message collapse to the newest), and
 * reminders moved to the new delivery slot. A done or cancelled order is closed to edits.
 */
export async function editOrderFields(
  sql: Sql,
  shopId: number,
  orderId: number,
  values: FieldValues,
  same: (f: EditableField, stored: unknown) => boolean,
): Promise<EditResult> {
  return sql.begin(async (tx) => {
    const [current] = await tx<OrderRow[]>`
      select ${tx.unsafe(ORDER_COLUMNS)}, ${tx.unsafe(QUIET_OUTBOX_SQL)} from orders where shop_id = ${shopId} and id = ${orderId} for update`
    if (!current) return { state: 'missing' as const }
    if (current.status === 'done' || current.status === 'cancelled') return { state: 'closed' as const, order: current }
    const stored = toOrder(current) as unknown as Record<string, unknown>
    const changed = (Object.keys(FIELD_COLUMNS) as EditableField[]).filter((f) => values[f] !== undefined && !same(f, stored[f]))
    if (!changed.length) return { state: 'edited' as const, order: current, changed }
    const set: Record<string, unknown> = {}
    for (const f of changed) set[FIELD_COLUMNS[f]] = f === 'items' ? (values.items === null ? null : tx.json(values.items as never)) : values[f]
    if (changed.includes('deliveryTime')) {
      set.delivery_slot_from = values.deliverySlot?.from ?? null
      set.delivery_slot_to = values.deliverySlot?.to ?? null
    }
    const [row] = await tx<OrderRow[]>`
      update orders set ${tx(set)}, edited_fields = ${changed}, updated_at = now()
      where id = ${orderId} returning ${tx.unsafe(ORDER_COLUMNS)}`
    await recordEvent(tx as unknown as Sql, { shopId, type: 'order.updated', orderId, data: { changed } })
    // every recipient that has (or is getting) the order's message gets it edited
    await tx`
      insert into telegram_outbox (shop_id, order_id, kind, chat_ref)
      select o.shop_id, o.order_id, 'order_status', o.chat_ref from telegram_outbox o
      join telegram_chats c on c.id = o.chat_ref and c.enabled
      where o.order_id = ${orderId} and o.kind = 'order' and o.state <> 'dead'
      on conflict (order_id, kind, chat_ref, due_key) do update set
        state = 'pending', next_attempt_at = now(), attempts = 0, last_error = null,
        revision = telegram_outbox.revision + 1, updated_at = now()`
    if (changed.includes('deliveryDate') || changed.includes('deliveryTime')) await moveReminders(tx as unknown as Sql, orderId)
    // a courier card shows when, where and to whom: it follows those fields (never the money or the buyer)
    if (changed.some((f) => COURIER_CARD_FIELDS.includes(f))) await queueCourierCards(tx as unknown as Sql, shopId, orderId)
    return { state: 'edited' as const, order: row!, changed }
  })
}

/**
 * The reminders follow the delivery slot: the ones not yet sent (and not being sent) are dropped, and
 * one per recipient that wants reminders is written for the new slot, once per slot (`due_key`), if
 * that slot is still ahead.
 */
async function moveReminders(tx: Sql, orderId: number): Promise<void> {
  await tx`
    delete from telegram_outbox where order_id = ${orderId} and kind = 'delivery_reminder' and state = 'pending'
      and (locked_until is null or locked_until < now())`
  await tx`
    insert into telegram_outbox (shop_id, order_id, kind, chat_ref, next_attempt_at, due_key)
    select o.shop_id, o.id, 'delivery_reminder', c.id,
           ((o.delivery_date + o.delivery_slot_from) at time zone sh.time_zone) - make_interval(mins => sh.reminder_lead_minutes),
           o.delivery_date::text || ' ' || o.delivery_slot_from::text
    from orders o
    join shops sh on sh.id = o.shop_id
    join telegram_integrations i on i.shop_id = o.shop_id and i.enabled
    join telegram_chats c on c.shop_id = o.shop_id and c.enabled and 'delivery_reminder' = any(c.events)
    where o.id = ${orderId} and o.delivery_date is not null and o.delivery_slot_from is not null
      and ((o.delivery_date + o.delivery_slot_from) at time zone sh.time_zone) > now()
    on conflict do nothing`
}
