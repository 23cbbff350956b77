import { TelegramError, type TelegramClient } from '../bot-api'
import { errorCodeOf } from '../bot-api'
import { deliveriesOn, localDay, renderSummary, testMessageText } from '../notifications'
import { insertAudit } from '../platform/audit'
import { maskChatId, type TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Actor } from '../platform/http/auth'
import { Conflict, Invalid, NotFound } from '../platform/http/errors'
import type { Logger } from '../platform/log'
import { getShopOr404 } from '../platform/shops'
import { findIntegration } from './repository'
import { EVENTS, type Recipient, type RecipientInput, type Role } from './schema'
import { safeDecrypt } from './service'

/**
 * The chats a shop's bot writes to (owner, florists' group or its forum topic, courier), each with the
 * events it wants and quiet hours. The first one is the integration's `chatId` for older clients: every
 * change here that touches the first recipient also moves `telegram_integrations.chat_id`.
 */
type ChatRow = {
  id: string
  shop_id: string
  chat_id: string
  thread_id: string | null
  title: string | null
  type: string | null
  events: string[]
  quiet_from: string | null
  quiet_to: string | null
  enabled: boolean
  role: Role
  member_status: string | null
  last_sent_at: Date | null
  last_error: string | null
  last_error_code: string | null
  last_error_at: Date | null
}

const hhmm = (t: string | null) => (t ? t.slice(0, 5) : null)

export function toRecipient(r: ChatRow): Recipient {
  const failing = !!r.last_error_code && (!r.last_sent_at || (r.last_error_at !== null && r.last_error_at > r.last_sent_at))
  const state = !r.enabled ? 'paused' : r.member_status === 'kicked' || r.member_status === 'left' ? 'removed' : failing ? 'failing' : 'active'
  return {
    id: Number(r.id),
    chatId: maskChatId(r.chat_id)!,
    title: r.title,
    type: r.type,
    threadId: r.thread_id === null ? null : Number(r.thread_id),
    events: r.events as Recipient['events'],
    quietHours: r.quiet_from && r.quiet_to ? { from: hhmm(r.quiet_from)!, to: hhmm(r.quiet_to)! } : null,
    enabled: r.enabled,
    role: r.role,
    state,
    lastSentAt: r.last_sent_at?.toISOString() ?? null,
    lastError: failing ? r.last_error : null,
    lastErrorCode: failing ? r.last_error_code : null,
  }
}

const COLUMNS =
  'id, shop_id, chat_id, thread_id, title, type, events, quiet_from::text, quiet_to::text, enabled, role, member_status, last_sent_at, last_error, last_error_code, last_error_at'

/** Keeps the integration's chat (what older clients read as `chatId`) equal to the first recipient's. */
async function syncFirstChat(sql: Sql, shopId: number) {
  await sql`
    update telegram_integrations i
    set chat_id = (select c.chat_id from telegram_chats c where c.shop_id = ${shopId} order by c.id limit 1), updated_at = now()
    where i.shop_id = ${shopId}
      and i.chat_id is distinct from (select c.chat_id from telegram_chats c where c.shop_id = ${shopId} order by c.id limit 1)`
}

export class RecipientService {
  constructor(private readonly deps: { sql: Sql; client: TelegramClient; cipher: TokenCipher; log: Logger; timeoutMs: number }) {}

  async list(shopId: number): Promise<Recipient[]> {
    await getShopOr404(this.deps.sql, shopId)
    const rows = await this.deps.sql<ChatRow[]>`select ${this.deps.sql.unsafe(COLUMNS)} from telegram_chats where shop_id = ${shopId} order by id`
    return rows.map(toRecipient)
  }

  private async one(shopId: number, id: number): Promise<ChatRow> {
    const [row] = await this.deps.sql<ChatRow[]>`select ${this.deps.sql.unsafe(COLUMNS)} from telegram_chats where shop_id = ${shopId} and id = ${id}`
    if (!row) throw new NotFound(`Shop ${shopId} has no recipient ${id}`, 'recipient_not_found')
    return row
  }

  async add(shopId: number, input: RecipientInput & { chatId: string }, actor: Actor): Promise<Recipient> {
    const { sql, log } = this.deps
    await getShopOr404(sql, shopId)
    if (!(await findIntegration(sql, shopId))) throw new Conflict('Connect a bot token first', 'not_connected')
    const [row] = await sql<ChatRow[]>`
      insert into telegram_chats (shop_id, chat_id, thread_id, events, quiet_from, quiet_to, enabled, role)
      values (${shopId}, ${input.chatId}, ${input.threadId ?? null},
              ${input.role === 'courier' ? [] : (input.events ?? [...EVENTS])}::text[],
              ${input.quietHours?.from ?? null}, ${input.quietHours?.to ?? null}, ${input.enabled ?? true}, ${input.role ?? 'staff'})
      on conflict (shop_id, chat_id, coalesce(thread_id, 0)) do nothing
      returning ${sql.unsafe(COLUMNS)}`
    if (!row) throw new Conflict('This chat (and topic) is already a recipient of the shop', 'recipient_exists')
    await syncFirstChat(sql, shopId)
    await insertAudit(sql, { shopId, actor, action: 'recipient_added', details: { recipientId: Number(row.id), events: row.events } })
    log.info('recipient_added', { shopId, recipientId: Number(row.id) })
    return toRecipient(row)
  }

  async update(shopId: number, id: number, input: RecipientInput, actor: Actor): Promise<Recipient> {
    const { sql } = this.deps
    const before = await this.one(shopId, id)
    // A recipient's chat is never rewritten in place (it was how the owner's chat could be taken over):
    // delete it and add the other chat.
    if (input.chatId !== undefined && input.chatId !== before.chat_id)
      throw new Invalid(
        'A recipient’s chat cannot be changed: delete this recipient and add the other chat',
        [{ path: 'chatId', message: 'cannot be changed' }],
        'chat_id_immutable',
      )
    const quiet = input.quietHours === undefined ? undefined : input.quietHours
    // a courier chat gets delivery cards only (no staff events); back to staff, it gets every event unless told which
    const role: Role = input.role ?? before.role
    const events = role === 'courier' ? [] : (input.events ?? (before.role === 'courier' ? [...EVENTS] : null))
    let row: ChatRow | undefined
    try {
      ;[row] = await sql<ChatRow[]>`
        update telegram_chats set
          chat_id = coalesce(${input.chatId ?? null}, chat_id),
          thread_id = case when ${input.threadId !== undefined} then ${input.threadId ?? null}::bigint else thread_id end,
          events = coalesce(${events}::text[], events),
          role = ${role},
          quiet_from = case when ${quiet !== undefined} then ${quiet?.from ?? null}::time else quiet_from end,
          quiet_to = case when ${quiet !== undefined} then ${quiet?.to ?? null}::time else quiet_to end,
          enabled = coalesce(${input.enabled ?? null}::boolean, enabled),
          -- a new chat starts with a clean state
          member_status = case when ${input.chatId ?? null}::text is distinct from null and ${input.chatId ?? null} <> chat_id then null else member_status end,
          last_error = case when ${input.chatId ?? null}::text is distinct from null and ${input.chatId ?? null} <> chat_id then null else last_error end,
          last_error_code = case when ${input.chatId ?? null}::text is distinct from null and ${input.chatId ?? null} <> chat_id then null else last_error_code end,
          updated_at = now()
        where shop_id = ${shopId} and id = ${id}
        returning ${sql.unsafe(COLUMNS)}`
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new Conflict('This chat (and topic) is already a recipient of the shop', 'recipient_exists')
      throw err
    }
    if (input.chatId && input.chatId !== before.chat_id) await syncFirstChat(sql, shopId)
    await insertAudit(sql, { shopId, actor, action: 'recipient_changed', details: { recipientId: id, ...input } })
    return toRecipient(row!)
  }

  async remove(shopId: number, id: number, actor: Actor): Promise<void> {
    const { sql, log } = this.deps
    await this.one(shopId, id)
    await sql`delete from telegram_chats where shop_id = ${shopId} and id = ${id}`
    await syncFirstChat(sql, shopId)
    await insertAudit(sql, { shopId, actor, action: 'recipient_removed', details: { recipientId: id } })
    log.info('recipient_removed', { shopId, recipientId: id })
  }

  /** A test message to one recipient (its topic included, silently in its quiet hours is not needed here). */
  async sendTest(shopId: number, id: number): Promise<{ sent: boolean; error: string | null; errorCode: string | null; mock: boolean }> {
    const { sql, client, cipher, log, timeoutMs } = this.deps
    const shop = await getShopOr404(sql, shopId)
    const chat = await this.one(shopId, id)
    const row = await findIntegration(sql, shopId)
    if (!row) throw new Conflict('Connect a bot token first', 'not_connected')
    const token = safeDecrypt(cipher, row.bot_token, shopId)
    if (!token) throw new Conflict('The stored token cannot be decrypted (ENCRYPTION_KEY changed?): save the token again', 'token_unreadable')
    try {
      await client.sendMessage(
        token,
        { chatId: chat.chat_id, threadId: chat.thread_id ? Number(chat.thread_id) : null, text: testMessageText(shop.name) },
        AbortSignal.timeout(timeoutMs),
      )
      await sql`update telegram_chats set last_sent_at = now(), last_error = null, last_error_code = null, last_error_at = null, updated_at = now() where id = ${id}`
      log.info('test_message_sent', { shopId, recipientId: id })
      return { sent: true, error: null, errorCode: null, mock: client.mode === 'mock' }
    } catch (err) {
      if (!(err instanceof TelegramError)) throw err
      const code = errorCodeOf(err.failure)
      await sql`update telegram_chats set last_error = ${err.message}, last_error_code = ${code}, last_error_at = now(), updated_at = now() where id = ${id}`
      log.warn('test_message_failed', { shopId, recipientId: id, errorCode: code })
      return { sent: false, error: err.message, errorCode: code, mock: client.mode === 'mock' }
    }
  }

  /** POST …/telegram/summary: today's summary now, to every recipient that wants the morning summary. */
  async sendSummaryNow(shopId: number): Promise<{ sent: number; failed: number; deliveries: number; text: string }> {
    const { sql, client, cipher, log, timeoutMs } = this.deps
    const shop = await getShopOr404(sql, shopId)
    const time_zone = (await sql<{ time_zone: string }[]>`select time_zone from shops where id = ${shopId}`)[0]!.time_zone
    const day = localDay(new Date(), time_zone)
    const rows = await deliveriesOn(sql, shopId, day)
    const text = renderSummary(shop.name, day, rows)
    const deliveries = rows.filter((r) => r.status !== 'cancelled').length
    const row = await findIntegration(sql, shopId)
    const token = row ? safeDecrypt(cipher, row.bot_token, shopId) : null
    if (!token) throw new Conflict('Connect a bot token first', 'not_connected')
    const chats = await sql<ChatRow[]>`
      select ${sql.unsafe(COLUMNS)} from telegram_chats where shop_id = ${shopId} and enabled and 'daily_summary' = any(events) order by id`
    let sent = 0
    for (const c of chats) {
      try {
        await client.sendMessage(token, { chatId: c.chat_id, threadId: c.thread_id ? Number(c.thread_id) : null, text }, AbortSignal.timeout(timeoutMs))
        sent++
      } catch (err) {
        if (!(err instanceof TelegramError)) throw err
        log.warn('summary_not_sent', { shopId, recipientId: Number(c.id), errorCode: errorCodeOf(err.failure) })
      }
    }
    log.info('summary_sent_now', { shopId, sent, deliveries })
    return { sent, failed: chats.length - sent, deliveries, text }
  }
}
