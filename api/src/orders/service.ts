import { insertAudit } from '../platform/audit'
import type { Sql } from '../platform/db/client'
import type { Actor } from '../platform/http/auth'
import { Conflict, NotFound } from '../platform/http/errors'
import type { Logger } from '../platform/log'
import { maskChatId } from '../platform/crypto'
import { getShopOr404 } from '../platform/shops'
import type { TokenCipher } from '../platform/crypto'
import { buyerLink, buyerViews, EMPTY_BUYER_VIEW } from '../conversations'
import { requeueNotifications, type AttemptOutcome, type Sender, type Dispatcher } from '../notifications'
import {
  changeOrderStatus,
  editOrderFields,
  findOrder,
  findOrderByNumber,
  listOrders,
  toOrder,
  type IntakeNotification,
  type OrderWithNotificationRow,
} from './repository'
import { IntakeWriter } from './intake-writer'
import {
  EDITABLE_FIELDS,
  NEXT_STATUSES,
  previousStatuses,
  type CreateOrderInput,
  type EditableField,
  type Order,
  type OrderStatus,
  type PatchOrderInput,
} from './schema'

export type TelegramOutcome = {
  telegramStatus: 'sent' | 'failed' | 'skipped' | 'pending'
  telegram: { error: string | null; errorCode: string | null; retrying: boolean; nextAttemptAt: string | null; attempts: number }
}

const sameMoney = (a: string, b: string) => Number(a).toFixed(2) === Number(b).toFixed(2)

/** An order with its notification and per-recipient state, as GET /orders lists it. */
const listItem = (r: OrderWithNotificationRow) => ({
  ...toOrder(r),
  statusChangedBy: r.status_changed_by,
  notification: notificationOf(r),
  // per recipient: who has it, who is still waiting, who failed and why
  recipients: r.recipients.map((x) => ({
    id: Number(x.id),
    title: x.title,
    chatId: maskChatId(x.chatId)!,
    threadId: x.threadId === null ? null : Number(x.threadId),
    state: (x.state === 'done' ? 'sent' : x.state === 'dead' ? 'failed' : 'pending') as 'sent' | 'failed' | 'pending',
    error: x.state === 'done' ? null : x.error,
    errorCode: x.state === 'done' ? null : x.errorCode,
    sentAt: x.sentAt ? new Date(x.sentAt).toISOString() : null,
  })),
})

export class OrderService {
  constructor(
    private readonly deps: {
      sql: Sql
      delivery: Sender
      dispatcher: Dispatcher
      log: Logger
      cipher: TokenCipher
      /** taking a courier off an order (the couriers feature: it also retires the courier's private card) */
      couriers?: { release(shopId: number, orderId: number, actor: Actor): Promise<boolean> }
    },
  ) {
    const { sql, delivery, log } = deps
    this.writer = new IntakeWriter({ sql, log, owner: delivery.owner, leaseSec: delivery.config.leaseSec, pacing: delivery.config })
  }

  /** Concurrent orders of this process go to the database together, one statement per batch. */
  readonly writer: IntakeWriter

  /** PATCH with `courier: null`: staff take the courier off; the delivery card goes back to the couriers' chat. */
  async releaseCourier(shopId: number, orderId: number, actor: Actor): Promise<{ order: Order; changed: boolean; telegramEdit: 'queued' | 'none' }> {
    const { sql, dispatcher, couriers } = this.deps
    await getShopOr404(sql, shopId)
    const before = await findOrder(sql, shopId, orderId)
    if (!before) throw new NotFound(`Order ${orderId} does not exist in shop ${shopId}`, 'order_not_found')
    if (before.courier_name && before.status !== 'assembling' && before.status !== 'delivering')
      throw new Conflict(`The order is ${before.status}: its courier stays on record`, 'order_closed')
    const changed = !!couriers && (await couriers.release(shopId, orderId, actor))
    if (changed) dispatcher.wake()
    const after = (await findOrder(sql, shopId, orderId))!
    return { order: toOrder(after), changed, telegramEdit: changed ? 'queued' : 'none' }
  }

  /** The order's buyer link (conversations/buyer-link.ts), null while no bot is connected. */
  private withLink<T extends Order>(o: T, botUsername: string | null | undefined): T & { buyerLink: string | null } {
    return { ...o, buyerLink: buyerLink(this.deps.cipher, o.shopId, o.id, botUsername) }
  }

  /** List items with their buyer side: the link, the buyer, the photos and the conversation. */
  private async items(shopId: number, rows: OrderWithNotificationRow[]) {
    const views = await buyerViews(
      this.deps.sql,
      shopId,
      rows.map((r) => r.id),
    )
    return rows.map((r) => ({ ...this.withLink(listItem(r), r.bot_username), ...(views.get(String(r.id)) ?? EMPTY_BUYER_VIEW) }))
  }

  /**
   * Stores the order (once per number) and makes the first notification attempt after commit,
   * bounded by the delivery timeout. Whatever Telegram does, the order stands.
   */
  async create(shopId: number, input: CreateOrderInput): Promise<{ created: boolean; order: Order & { buyerLink: string | null } } & TelegramOutcome> {
    const { log } = this.deps
    const r = await this.writer.write(shopId, input)
    if (!r) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
    if (!r.created) {
      const o = r.order
      if (!sameMoney(o.total, input.total) || o.customer_name !== input.customerName) {
        throw new Conflict(`Order ${input.number} already exists with a different total or customer; the first order is kept`, 'order_conflict', {
          existing: { total: o.total, customerName: o.customer_name },
          sent: { total: input.total, customerName: input.customerName },
        })
      }
      const telegramStatus = r.sendStatus === 'SENT' ? 'sent' : r.sendStatus === 'FAILED' ? 'failed' : r.outboxState ? 'pending' : 'skipped'
      return {
        created: false,
        order: this.withLink(toOrder(o), o.bot_username),
        telegramStatus,
        telegram: { error: null, errorCode: null, retrying: false, nextAttemptAt: null, attempts: 0 },
      }
    }
    const order = this.withLink(toOrder(r.order), r.order.bot_username)
    log.info('order_created', { shopId, orderId: order.id, number: order.number, recipients: r.notifications.length })
    if (!r.notifications.length)
      return { created: true, order, telegramStatus: 'skipped', telegram: { error: null, errorCode: null, retrying: false, nextAttemptAt: null, attempts: 0 } }
    const outcome = await this.attemptNow(r.notifications)
    return { created: true, order, ...outcome }
  }

  /**
   * The first attempt for every recipient (different chats, so at once), inside the request and never
   * longer than the delivery timeout. The answer sums them up: `sent` when every recipient has it,
   * `failed` when one failed, `pending` when a busy chat left one to the dispatcher.
   */
  private async attemptNow(rows: (string | IntakeNotification)[]): Promise<TelegramOutcome> {
    const { delivery, dispatcher, log } = this.deps
    const signal = AbortSignal.timeout(delivery.config.timeoutMs)
    const outcomes = await Promise.all(
      rows.map((d) =>
        // a chat whose slot was taken (or busy) when the order was written is the dispatcher's: nothing to try here
        typeof d !== 'string' && !d.leased
          ? ({ status: 'pending' } as AttemptOutcome)
          : delivery.attempt(d, signal, { firstAttempt: true }).catch((error): AttemptOutcome => {
              // The lease expires and the dispatcher takes over; the order itself is committed.
              log.error('first_attempt_error', { deliveryId: typeof d === 'string' ? d : d.id, error })
              return { status: 'failed', error: 'Ошибка при отправке; повторим автоматически', errorCode: 'telegram_unavailable', retryAt: new Date() }
            }),
      ),
    )
    if (outcomes.some((o) => o.status === 'pending')) dispatcher.wake()
    const failed = outcomes.find((o) => o.status === 'failed')
    const o = failed ?? outcomes.find((x) => x.status === 'pending') ?? outcomes[0]!
    return {
      telegramStatus: o.status,
      telegram: {
        error: o.error ?? null,
        errorCode: o.errorCode ?? null,
        retrying: !!o.retryAt,
        nextAttemptAt: o.retryAt ? o.retryAt.toISOString() : null,
        attempts: o.status === 'pending' ? 0 : 1,
      },
    }
  }

  /** Newest first with the notification of each order; `cursor` is the last id of the previous page. */
  async list(shopId: number, limit = 20, cursor: number | null = null) {
    const { sql } = this.deps
    await getShopOr404(sql, shopId)
    const rows = await listOrders(sql, shopId, limit + 1, cursor)
    const page = rows.slice(0, limit)
    return {
      items: await this.items(shopId, page),
      nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
    }
  }

  /** One order as the list shows it, or 404. */
  async one(shopId: number, orderId: number) {
    await getShopOr404(this.deps.sql, shopId)
    const item = await this.item(shopId, orderId)
    if (!item) throw new NotFound(`Order ${orderId} does not exist in shop ${shopId}`, 'order_not_found')
    return item
  }

  /** `?number=A-1001`: the order with that POS number, as a one-item (or empty) list. */
  async byNumber(shopId: number, number: string) {
    await getShopOr404(this.deps.sql, shopId)
    const row = await findOrderByNumber(this.deps.sql, shopId, number)
    const item = row ? await this.item(shopId, Number(row.id)) : null
    return { items: item ? [item] : [], nextCursor: null }
  }

  /**
   * PATCH: the fields first (every recipient's message is edited, reminders follow the slot, one
   * `order.updated`), then the status, each in its own transaction with its own event.
   */
  async patch(shopId: number, orderId: number, body: PatchOrderInput, actor: Actor) {
    const { sql, dispatcher, log } = this.deps
    await getShopOr404(sql, shopId)
    // `courier: null` first: staff take the courier off, then anything else the body asks for
    const released = body.courier === null ? (await this.releaseCourier(shopId, orderId, actor)).changed : false
    let changedFields: EditableField[] = []
    const fields = EDITABLE_FIELDS.filter((f) => body[f] !== undefined)
    if (fields.length) {
      const values: Record<string, unknown> = {}
      for (const f of fields) values[f] = body[f]
      const slot = body.deliveryTime
      if (slot !== undefined) {
        values.deliveryTime = slot.text
        values.deliverySlot = { from: slot.from, to: slot.to }
      }
      const r = await editOrderFields(sql, shopId, orderId, values, (f, stored) => sameValue(f, values[f], stored))
      if (r.state === 'missing') throw new NotFound(`Order ${orderId} does not exist in shop ${shopId}`, 'order_not_found')
      if (r.state === 'closed')
        throw new Conflict(`Order ${orderId} is ${r.order.status}: its fields can no longer change`, 'order_closed', { status: r.order.status })
      changedFields = r.changed
      if (changedFields.length) {
        log.info('order_edited', { shopId, orderId, changed: changedFields })
        await insertAudit(sql, { shopId, actor, action: 'order_edited', orderId, details: { changed: changedFields } })
        dispatcher.wake()
      }
    }
    if (body.status === undefined) {
      const row = await findOrder(sql, shopId, orderId)
      if (!row) throw new NotFound(`Order ${orderId} does not exist in shop ${shopId}`, 'order_not_found')
      return {
        order: toOrder(row),
        changed: changedFields.length > 0 || released,
        changedFields,
        telegramEdit: changedFields.length || released ? ('queued' as const) : ('none' as const),
      }
    }
    const s = await this.changeStatus(shopId, orderId, body.status, body.by, actor)
    return {
      ...s,
      changed: s.changed || changedFields.length > 0 || released,
      changedFields,
      telegramEdit: s.telegramEdit === 'queued' || changedFields.length ? ('queued' as const) : ('none' as const),
    }
  }

  /** One order as the list shows it (the live stream sends these), or null. */
  async item(shopId: number, orderId: number) {
    const [row] = await listOrders(this.deps.sql, shopId, 1, orderId + 1)
    return row && Number(row.id) === orderId ? (await this.items(shopId, [row]))[0]! : null
  }

  /**
   * Moves an order along new → accepted → assembling → delivering → done (or cancelled) and has its
   * Telegram message edited to match. The same status again is a no-op; an impossible step is 409.
   */
  async changeStatus(
    shopId: number,
    orderId: number,
    to: OrderStatus,
    by: string | undefined,
    actor: Actor,
  ): Promise<{ order: Order; changed: boolean; telegramEdit: 'queued' | 'none' }> {
    const { sql, dispatcher, log } = this.deps
    await getShopOr404(sql, shopId)
    const source = actor.kind === 'owner' || actor.kind === 'manager' ? 'page' : 'api'
    const r = await changeOrderStatus(
      sql,
      shopId,
      orderId,
      to,
      previousStatuses(to),
      { name: by ?? (source === 'api' ? actor.label : 'менеджер'), tgId: null },
      source,
    )
    if (!r.order) throw new NotFound(`Order ${orderId} does not exist in shop ${shopId}`, 'order_not_found')
    if (!r.changed) {
      const from = r.order.status as OrderStatus
      if (from === to) return { order: toOrder(r.order), changed: false, telegramEdit: 'none' }
      const allowed = NEXT_STATUSES[from] ?? []
      throw new Conflict(
        `An order in status ${from} cannot move to ${to}` + (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (the status is final)'),
        'invalid_transition',
        { from, to, allowed },
      )
    }
    log.info('order_status_changed', { shopId, orderId, status: to, editQueued: r.editQueued })
    await insertAudit(sql, { shopId, actor, action: 'order_status_changed', orderId, details: { status: to, ...(by ? { by } : {}) } })
    // the change was quiet (no NOTIFY): this process's dispatcher takes the edits, cards and buyer news it queued
    dispatcher.wake()
    return { order: toOrder(r.order), changed: true, telegramEdit: r.editQueued ? 'queued' : 'none' }
  }

  /** «Принять» pressed in Telegram by `by`: the first press wins, the database decides. */
  async acceptFromTelegram(shopId: number, orderId: number, by: { name: string; tgId: number }): Promise<AcceptResult> {
    const { sql, dispatcher, log } = this.deps
    const r = await changeOrderStatus(sql, shopId, orderId, 'accepted', ['new'], by, 'telegram')
    if (!r.changed) return { accepted: false, order: r.order ? toOrder(r.order) : null }
    log.info('order_accepted_in_telegram', { shopId, orderId, editQueued: r.editQueued })
    await insertAudit(sql, {
      shopId,
      actor: { kind: 'telegram', id: String(by.tgId), label: by.name },
      action: 'order_status_changed',
      orderId,
      details: { status: 'accepted' },
    })
    dispatcher.wake()
    return { accepted: true, order: toOrder(r.order) }
  }

  /** The owner's "retry" button: a failed notification is attempted again now. */
  async resend(shopId: number, orderId: number): Promise<{ order: Order } & TelegramOutcome> {
    const { sql, delivery } = this.deps
    await getShopOr404(sql, shopId)
    const row = await findOrder(sql, shopId, orderId)
    if (!row) throw new NotFound(`Order ${orderId} does not exist in shop ${shopId}`, 'order_not_found')
    const q = await requeueNotifications(sql, shopId, orderId, delivery.owner, delivery.config.leaseSec)
    if (q.state === 'already_sent') throw new Conflict('This notification was already sent; it is not sent twice', 'already_sent')
    if (q.state === 'in_progress') throw new Conflict('This notification is being sent right now', 'in_progress')
    if (q.state === 'none') throw new Conflict('This order had no notification to resend (Telegram was not connected when it came in)', 'nothing_to_resend')
    const outcome = await this.attemptNow(q.ids)
    return { order: toOrder(row), ...outcome }
  }
}

/** Whether a PATCH value equals the stored one (money by amount, lists and flags by content). */
function sameValue(f: EditableField, sent: unknown, stored: unknown): boolean {
  if (f === 'total') return sameMoney(String(sent), String(stored))
  if (f === 'items') {
    const norm = (v: unknown) =>
      JSON.stringify(
        ((v as { name: string; quantity: number; price?: string | null }[] | null) ?? []).map((i) => [
          i.name,
          i.quantity,
          i.price == null ? null : Number(i.price).toFixed(2),
        ]),
      )
    return norm(sent) === norm(stored)
  }
  return (sent ?? null) === (stored ?? null)
}

export type AcceptResult = { accepted: true; order: Order } | { accepted: false; order: Order | null }

function notificationOf(r: OrderWithNotificationRow) {
  const pending = r.outbox_state === 'pending'
  const status =
    r.send_status === 'SENT' ? 'sent' : pending && !r.send_status ? 'pending' : r.send_status === 'FAILED' ? 'failed' : r.outbox_state ? 'pending' : 'skipped'
  return {
    status: status as 'sent' | 'failed' | 'pending' | 'skipped',
    error: r.send_status === 'FAILED' ? r.send_error : null,
    errorCode: r.send_status === 'FAILED' ? r.send_error_code : null,
    sentAt: r.sent_at ? new Date(r.sent_at).toISOString() : null,
    attempts: r.send_attempts ?? 0,
    retrying: pending && r.send_status === 'FAILED',
    nextAttemptAt: pending && r.next_attempt_at ? new Date(r.next_attempt_at).toISOString() : null,
    updatedAt: r.send_updated_at ? new Date(r.send_updated_at).toISOString() : null,
  }
}
