import type postgres from 'postgres'
import type { ErrorCode, Keyboard, SentMessage, TelegramClient } from '../../bot-api'
import type { Sql } from '../../platform/db/client'
import type { Metrics } from '../../platform/metrics'

/** A piece of SQL built with the `sql` tag, to be embedded in a larger statement. */
export type Fragment = postgres.PendingQuery<postgres.Row[]>

/**
 * A message kind is a module: what it loads, what it sends, what it records once Telegram accepted it.
 * The outbox, the lease, the retry policy and pacing are one shared machine (`Sender`, `Dispatcher`,
 * outbox.ts); a kind never touches them. A new kind is a new module registered in wiring.ts: no new
 * column on the notification row, no migration of the kind constraint (sql/022 checks only its shape).
 */

/**
 * One notification as the shared machine reads it: the outbox row, the shop, the bot and the chat it
 * goes to (a recipient chat, or a person's private chat), plus `data`: whatever the kind's `load` read.
 */
export type Notification<D = unknown> = {
  id: string
  shop_id: string
  order_id: string | null
  kind: string
  state: 'pending' | 'done' | 'dead'
  attempts: number
  revision: number
  created_at: Date
  /** the recipient (telegram_chats.id); null for a person's private chat */
  chat_ref: string | null
  /** a person's private chat with the bot (telegram_private_chats.id): a buyer, a courier */
  private_chat_ref: string | null
  /** what makes the row unique besides order, kind and chat (a summary's day, a relayed message) */
  due_key: string | null
  /** kind-specific data written with the row */
  payload: Record<string, unknown> | null
  shop_name: string
  time_zone: string
  bot_token: string | null
  chat_id: string | null
  enabled: boolean | null
  thread_id: string | null
  quiet_from: string | null
  quiet_to: string | null
  /** Whether loading took the chat's pacing slot (only when asked to: the request's first attempt). */
  slot_taken: boolean
  /** the kind's own read (`MessageKind.load`), null when it found nothing */
  data: D | null
}

/** What to ask Telegram for. */
export type Outgoing =
  | { method: 'sendMessage'; text: string; keyboard?: Keyboard; replyToMessageId?: number | null }
  | { method: 'editMessageText'; chatId: string; messageId: number; text: string; keyboard?: Keyboard }
  | { method: 'sendPhoto'; photo: string; caption?: string; keyboard?: Keyboard; replyToMessageId?: number | null }
  | { method: 'copyMessage'; fromChatId: string; messageId: number; caption?: string; replyToMessageId?: number | null }

/**
 * What one attempt does: nothing (`skip`, done with a reason), later (`wait`, no attempt counted), or
 * send. `ownMessage`: this is the order's own message in a recipient chat (status edits edit it; the
 * send log shows it). `settleEditRevision`: a pending status edit this message makes moot.
 */
export type Plan =
  | { skip: string }
  | { wait: Date; reason: string }
  /** `loud`: sent with sound even inside the chat's quiet hours (the second call for an unaccepted order) */
  | { send: Outgoing; ownMessage?: boolean; settleEditRevision?: number | null; loud?: boolean }

/** What a kind may use besides its row: the database (a summary reads the day), metrics. */
export type KindContext = { sql: Sql; metrics?: Metrics; client?: TelegramClient; token?: string }

export interface MessageKind<D = unknown> {
  /** The outbox `kind` value (lower case and underscores). */
  readonly name: string
  /**
   * This kind's read, as a `select` over the outbox row `d` returning at most one row; it runs inside
   * the shared load statement (one round trip for a whole batch) and arrives as `data`.
   */
  load?(sql: Sql): Fragment
  /** A reason not to send at all, checked before anything else (a reminder for an order already assembling). */
  moot?(n: Notification<D>): string | null
  /** What the send log shows when the attempt fails (the order's message for a new order). */
  logText?(n: Notification<D>): string
  /** What to send now (or skip, or wait), once the bot and chat are known to be usable. */
  plan(n: Notification<D>, ctx: KindContext): Plan | Promise<Plan>
  /** Telegram says the message an edit was for is gone: what to send instead (null: give up). */
  messageGone?(n: Notification<D>, ctx: KindContext): Plan | Promise<Plan> | null
  /** After Telegram accepted and the shared finish is recorded: the kind's own records (a relayed copy's place in its conversation). */
  afterSent?(n: Notification<D>, sent: SentMessage, ctx: KindContext): Promise<void> | void
  /** Telegram refused it for good (the person blocked the bot, the chat is gone): the kind's own consequence. */
  afterFailed?(n: Notification<D>, errorCode: ErrorCode, ctx: KindContext): Promise<void> | void
}

/** The kinds the sender knows, by name. An unknown kind is a programming error, reported as a failed attempt. */
export class MessageKinds {
  private readonly byName = new Map<string, MessageKind<never>>()

  constructor(kinds: MessageKind<never>[] = []) {
    for (const k of kinds) this.add(k)
  }

  add(kind: MessageKind<never>): this {
    if (!/^[a-z_]+$/.test(kind.name)) throw new Error(`bad message kind name: ${kind.name}`)
    if (this.byName.has(kind.name)) throw new Error(`message kind registered twice: ${kind.name}`)
    this.byName.set(kind.name, kind)
    return this
  }

  get(name: string): MessageKind<unknown> | undefined {
    return this.byName.get(name) as MessageKind<unknown> | undefined
  }

  get all(): MessageKind<unknown>[] {
    return [...this.byName.values()] as MessageKind<unknown>[]
  }
}
