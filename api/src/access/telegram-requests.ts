import { tgUserName, type TelegramClient, type TgUpdate, type TgUser } from '../bot-api'
import { escapeHtml } from '../notifications'
import type { IntegrationRow } from '../connect'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import { safeEqual } from '../platform/http/auth'
import type { Logger } from '../platform/log'
import type { Actor } from '../platform/http/auth'

/** «Разрешить» under an access request: `m:<telegramUserId>:<mac>`, the MAC binding user and shop. */
const ALLOW_RE = /^m:([1-9][0-9]{0,18}):([A-Za-z0-9_-]{12})$/
const REPEAT_AFTER = '10 minutes'

/**
 * The owner in Telegram: the one person bound explicitly (an owner link opened in their private chat,
 * see connect's start code purpose), never "the first private chat". In a private chat the chat id is
 * the user id, so this is both the owner's Telegram id and their chat with the bot.
 */
export async function ownerChat(sql: Sql, shopId: number): Promise<string | null> {
  const [row] = await sql<{ owner_tg_user_id: string | null }[]>`select owner_tg_user_id from shops where id = ${shopId}`
  return row?.owner_tg_user_id ?? null
}

/**
 * Asking the owner to let someone in: when a person who is neither the owner nor an allowed manager
 * opens the Mini App, the bot writes to the owner «… хочет открыть заказы магазина» with «Разрешить»;
 * the owner's press adds them as a manager. Only the owner's press counts.
 */
export class AccessRequests {
  constructor(
    private readonly deps: {
      sql: Sql
      client: TelegramClient
      cipher: TokenCipher
      log: Logger
      timeoutMs: number
      allow: (shopId: number, m: { telegramUserId: number; name: string }, actor: Actor) => Promise<unknown>
    },
  ) {}

  private mac(shopId: number, userId: number) {
    return this.deps.cipher.sign(`manager:${shopId}:${userId}`)
  }

  /** Sends the request to the owner unless this person was asked about within ten minutes. Best effort. */
  async ask(shopId: number, shopName: string, botToken: string, user: TgUser): Promise<boolean> {
    const { sql, client, log, timeoutMs } = this.deps
    const owner = await ownerChat(sql, shopId)
    if (!owner) return false
    const name = tgUserName(user)
    const fresh = await sql`
      insert into telegram_access_requests (shop_id, tg_user_id, name) values (${shopId}, ${user.id}, ${name})
      on conflict (shop_id, tg_user_id) do update set name = excluded.name, requested_at = now()
        where telegram_access_requests.requested_at < now() - ${REPEAT_AFTER}::interval
      returning 1`
    if (!fresh.length) return false
    const who = `<b>${escapeHtml(name)}</b>${user.username ? ` (@${escapeHtml(user.username)})` : ''}`
    const text = `👤 ${who} хочет открыть заказы и настройки магазина «${escapeHtml(shopName)}» в Telegram.\nРазрешить? Запретить снова можно на странице настроек.`
    try {
      await client.sendMessage(
        botToken,
        { chatId: owner, text, keyboard: [[{ text: 'Разрешить', callbackData: `m:${user.id}:${this.mac(shopId, user.id)}` }]] },
        AbortSignal.timeout(timeoutMs),
      )
      log.info('access_requested', { shopId })
      return true
    } catch (error) {
      log.warn('access_request_not_sent', { shopId, error })
      return false
    }
  }

  /** A press of «Разрешить»: true when the data was ours (whatever the outcome), false to let others handle it. */
  async press(integration: IntegrationRow, token: string, update: TgUpdate): Promise<boolean> {
    const q = update.callback_query
    const m = ALLOW_RE.exec(q?.data ?? '')
    if (!q || !m) return false
    const { sql, client, log, timeoutMs, allow } = this.deps
    const shopId = Number(integration.shop_id)
    const answer = (text: string) =>
      client.answerCallbackQuery(token, q.id, text, AbortSignal.timeout(timeoutMs)).catch((error) => log.warn('callback_answer_failed', { error }))
    const userId = Number(m[1])
    if (!safeEqual(this.mac(shopId, userId), m[2]!)) {
      await answer('Эта кнопка не относится к этому магазину')
      return true
    }
    if ((await ownerChat(sql, shopId)) !== String(q.from.id)) {
      log.info('access_allow_refused', { shopId, reason: 'not_owner' })
      await answer('Разрешить может только владелец магазина')
      return true
    }
    const [req] = await sql<{ name: string }[]>`select name from telegram_access_requests where shop_id = ${shopId} and tg_user_id = ${userId}`
    const name = req?.name ?? `id ${userId}`
    await allow(shopId, { telegramUserId: userId, name }, { kind: 'telegram', id: String(q.from.id), label: `${tgUserName(q.from)} (Telegram)` })
    await answer(`Готово: ${name} может открывать магазин`)
    if (q.message)
      await client
        .editMessageText(
          token,
          {
            chatId: String(q.message.chat.id),
            messageId: q.message.message_id,
            text: `✅ Разрешено: <b>${escapeHtml(name)}</b> может открывать заказы и настройки магазина.`,
          },
          AbortSignal.timeout(timeoutMs),
        )
        .catch((error) => log.warn('access_request_not_edited', { shopId, error }))
    return true
  }
}
