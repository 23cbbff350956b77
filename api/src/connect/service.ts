import { insertAudit } from '../platform/audit'
import type { Actor } from '../platform/http/auth'
import type { Sql } from '../platform/db/client'
import { Conflict, type HttpError, Invalid, NotFound, UpstreamUnavailable } from '../platform/http/errors'
import type { Logger } from '../platform/log'
import { getShopOr404 } from '../platform/shops'
import { TelegramError, type TelegramClient } from '../bot-api'
import { BOT_COMMANDS, chatMovedText, testMessageText } from '../notifications'
import { findIntegration, hasTelegramOwner, renewStartCode, updateIntegrationSettings, upsertIntegrationWithToken, type IntegrationRow } from './repository'
import type { ConnectInput, Status } from './schema'
import { readStatus, type StatusIntegration } from './status-read'
import { maskChatId, maskToken, randomCode, sha256, type TokenCipher } from '../platform/crypto'

/** A connect link works for 30 minutes: long enough to open Telegram, short enough not to leak for days. */
export const START_CODE_TTL_SEC = 30 * 60

export type TelegramServiceDeps = {
  sql: Sql
  client: TelegramClient
  cipher: TokenCipher
  log: Logger
  publicUrl: string | undefined
  timeoutMs: number
  /** True when MANAGER_BOT_TOKEN is set: the status tells the page it can offer «create a bot». */
  managerBot?: boolean
}

/**
 * How a bot created through the platform's manager bot is connected: marked managed, and `inTransaction`
 * runs in the transaction that stores it (its platform event is committed exactly with it).
 */
export type ConnectOptions = { managed?: boolean; inTransaction?: (tx: Sql, row: IntegrationRow) => Promise<void> }

export const webhookPath = (webhookId: string) => `/telegram/webhook/${webhookId}`

/** Connect, status and the test message: what the settings page and an integrator call. */
export class TelegramService {
  constructor(private readonly deps: TelegramServiceDeps) {}

  private links(row: Pick<StatusIntegration, 'start_code' | 'start_code_expires_at' | 'bot_username' | 'start_code_purpose'>) {
    const live = row.start_code && row.start_code_expires_at && new Date(row.start_code_expires_at) > new Date()
    if (!live) return { connectLink: null, connectGroupLink: null, connectLinkPurpose: null }
    return {
      connectLink: `https://t.me/${row.bot_username}?start=${row.start_code}`,
      connectGroupLink: `https://t.me/${row.bot_username}?startgroup=${row.start_code}`,
      connectLinkPurpose: row.start_code_purpose,
    }
  }

  /** What a new start code does when the caller does not say: bind the owner while the shop has none. */
  private async purposeOf(shopId: number, asked: 'owner' | 'recipient' | undefined): Promise<'owner' | 'recipient'> {
    return asked ?? ((await hasTelegramOwner(this.deps.sql, shopId)) ? 'recipient' : 'owner')
  }

  present(row: IntegrationRow) {
    return {
      shopId: Number(row.shop_id),
      botUsername: row.bot_username,
      botToken: row.bot_token_masked,
      chatId: maskChatId(row.chat_id),
      enabled: row.enabled,
      ...this.links(row),
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
    }
  }

  /** Maps a Telegram failure during connect to the API's answer; nothing is stored in either case. */
  private connectError(err: TelegramError): HttpError {
    const f = err.failure
    if (f.kind === 'transient') return new UpstreamUnavailable(`Telegram cannot be reached; the token was neither checked nor stored: ${f.reason}`)
    if (f.kind === 'terminal' && f.code === 'unauthorized')
      return new Invalid(
        'Telegram refused the token: check it in @BotFather (it may have been revoked or copied incompletely)',
        [{ path: 'botToken', message: f.reason }],
        'token_rejected',
      )
    return new Invalid(`Telegram refused the request: ${f.reason}`, [{ path: 'botToken', message: f.reason }], 'telegram_rejected')
  }

  /**
   * Upsert by shop. A token is proven with getMe first; with PUBLIC_URL the webhook is pointed at
   * us (new secret) before anything is stored, and a replaced bot's webhook is removed afterwards.
   */
  async connect(shopId: number, input: ConnectInput, actor?: Actor, opts: ConnectOptions = {}) {
    const { sql, client, cipher, log, publicUrl } = this.deps
    await getShopOr404(sql, shopId)
    const chatId = input.chatId === null ? undefined : input.chatId
    if (!input.botToken) {
      const before = chatId !== undefined ? await findIntegration(sql, shopId) : null
      const row = await updateIntegrationSettings(sql, shopId, { chatId, enabled: input.enabled })
      if (!row)
        throw new Invalid(
          'botToken is required on the first connect',
          [{ path: 'botToken', message: 'required on the first connect (the token from @BotFather)' }],
          'token_required',
        )
      log.info('telegram_settings_updated', { shopId, enabled: row.enabled, chatSet: chatId !== undefined })
      if (actor) await insertAudit(sql, { shopId, actor, action: 'integration_updated', details: { enabled: row.enabled, chatChanged: chatId !== undefined } })
      if (before?.chat_id && row.chat_id && before.chat_id !== row.chat_id) await this.tellMoved(shopId, row.bot_token, before.chat_id)
      return this.present(row)
    }
    const token = input.botToken
    let me
    try {
      me = await client.getMe(token)
    } catch (err) {
      if (err instanceof TelegramError) throw this.connectError(err)
      throw err
    }
    const previous = await findIntegration(sql, shopId)
    const webhookId = randomCode(16)
    const secret = randomCode(32)
    const webhookUrl = publicUrl ? `${publicUrl}${webhookPath(webhookId)}` : null
    if (webhookUrl) {
      try {
        await client.setWebhook(token, { url: webhookUrl, secretToken: secret })
      } catch (err) {
        if (err instanceof TelegramError) throw this.connectError(err)
        throw err
      }
    }
    // one transaction: what the caller records with the connect (its platform event) commits with it
    const startCodePurpose = await this.purposeOf(shopId, undefined)
    const row = await sql.begin(async (tx) => {
      const stored = await upsertIntegrationWithToken(tx as unknown as Sql, {
        shopId,
        tokenEncrypted: cipher.encrypt(token, shopId),
        tokenMasked: maskToken(token),
        botId: me.id,
        botUsername: me.username,
        chatId,
        enabled: input.enabled,
        webhookId,
        webhookSecretHash: sha256(secret),
        webhookUrl,
        startCode: randomCode(18),
        startCodeTtlSec: START_CODE_TTL_SEC,
        managed: opts.managed ?? false,
        startCodePurpose,
      })
      await opts.inTransaction?.(tx as unknown as Sql, stored)
      return stored
    })
    log.info('telegram_connected', { shopId, bot: me.username, webhook: !!webhookUrl, managed: row.managed })
    // The command menu (/today, /orders, /order): a convenience, so a refusal does not undo the connect.
    await client.setMyCommands(token, BOT_COMMANDS).catch((err) => log.warn('bot_commands_not_set', { shopId, error: err }))
    if (actor) await insertAudit(sql, { shopId, actor, action: 'bot_connected', details: { bot: me.username, enabled: row.enabled } })
    if (previous && webhookUrl) {
      const oldToken = safeDecrypt(cipher, previous.bot_token, shopId)
      if (oldToken && oldToken !== token) {
        await client.deleteWebhook(oldToken).catch((err) => log.warn('old_webhook_not_removed', { shopId, error: err }))
      }
    }
    return this.present(row)
  }

  /** The chat that stops getting the shop's notifications is told so (best effort: it may have left). */
  private async tellMoved(shopId: number, storedToken: string, oldChatId: string): Promise<void> {
    const { sql, client, cipher, log, timeoutMs } = this.deps
    const token = safeDecrypt(cipher, storedToken, shopId)
    if (!token) return
    const shop = await getShopOr404(sql, shopId)
    await client
      .sendMessage(token, { chatId: oldChatId, text: chatMovedText(shop.name) }, AbortSignal.timeout(timeoutMs))
      .then(() => log.info('previous_chat_told', { shopId }))
      .catch((error) => log.warn('previous_chat_not_told', { shopId, error }))
  }

  /**
   * A fresh t.me link (e.g. to move notifications to another chat). `owner`: opened in a private chat,
   * it also makes that person the shop's owner in Telegram (default while the shop has no owner).
   */
  async newLink(shopId: number, actor?: Actor, purpose?: 'owner' | 'recipient') {
    const { sql } = this.deps
    await getShopOr404(sql, shopId)
    const row = await renewStartCode(sql, shopId, randomCode(18), START_CODE_TTL_SEC, await this.purposeOf(shopId, purpose))
    if (!row) throw new Conflict('Connect a bot token first', 'not_connected')
    if (actor) await insertAudit(sql, { shopId, actor, action: 'connect_link_issued', details: { purpose: row.start_code_purpose } })
    return this.present(row)
  }

  /**
   * The shop's Telegram state. Start codes and connect links are shown only with `links` (the owner and
   * the operator): whoever redeems one adds a chat, or becomes the owner in Telegram.
   */
  async status(shopId: number, opts: { links: boolean } = { links: true }): Promise<Status> {
    const { sql, client, publicUrl } = this.deps
    // one statement: the shop and its owner, its integration, the counts and the lag (status-read.ts)
    const snap = await readStatus(sql, shopId)
    if (!snap.found) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
    const { integration: row, summary: sum, lagSec: lag, owner } = snap
    const lastSent = sum.last_sent_at ? new Date(sum.last_sent_at) : null
    const lastFailed = sum.last_failed_at ? new Date(sum.last_failed_at) : null
    const failingNow = !!lastFailed && (!lastSent || lastFailed > lastSent)
    const botGone = row?.chat_member_status === 'kicked' || row?.chat_member_status === 'left'
    const state: Status['state'] = !row
      ? 'not_connected'
      : !row.enabled
        ? 'paused'
        : !row.chat_id
          ? 'waiting_chat'
          : botGone || failingNow
            ? 'failing'
            : 'active'
    const links =
      opts.links && row && (!row.chat_id || row.start_code) ? this.links(row) : { connectLink: null, connectGroupLink: null, connectLinkPurpose: null }
    return {
      state,
      mode: client.mode,
      enabled: row?.enabled ?? false,
      botUsername: row?.bot_username ?? null,
      botToken: row?.bot_token_masked ?? null,
      chatId: maskChatId(row?.chat_id ?? null),
      chatTitle: row?.chat_title ?? null,
      chatType: row?.chat_type ?? null,
      botInChat: row?.chat_member_status ? !botGone : null,
      lastSentAt: lastSent?.toISOString() ?? null,
      sentCount: Number(sum.sent_count),
      failedCount: Number(sum.failed_count),
      lastError: botGone && !failingNow ? 'Бота удалили из чата или заблокировали: добавьте его обратно или разблокируйте' : failingNow ? sum.last_error : null,
      lastErrorCode: botGone && !failingNow ? (row?.chat_type === 'private' ? 'bot_blocked' : 'bot_kicked') : failingNow ? sum.last_error_code : null,
      lastErrorAt: failingNow ? lastFailed!.toISOString() : null,
      ...links,
      ownerInTelegram: owner,
      webhook: !!publicUrl,
      miniApp: !!publicUrl?.startsWith('https://'),
      managed: row?.managed ?? false,
      canCreateBot: !!this.deps.managerBot,
      deliveryLagSeconds: lag,
      updatedAt: row ? new Date(row.updated_at).toISOString() : null,
    }
  }

  /** Sends a test message to the bound chat and tells what happened. Not logged as an order. */
  async sendTest(shopId: number): Promise<{ sent: boolean; error: string | null; mock: boolean }> {
    const { sql, client, cipher, log, timeoutMs } = this.deps
    const shop = await getShopOr404(sql, shopId)
    const row = await findIntegration(sql, shopId)
    if (!row) throw new Conflict('Telegram is not connected for this shop: connect a bot first', 'not_connected')
    if (!row.chat_id) throw new Conflict('No chat is bound yet: open the connect link or enter a chat id', 'chat_not_bound')
    const token = safeDecrypt(cipher, row.bot_token, shopId)
    if (!token) throw new Conflict('The stored token cannot be decrypted (ENCRYPTION_KEY changed?): save the token again', 'token_unreadable')
    try {
      await client.sendMessage(token, { chatId: row.chat_id, text: testMessageText(shop.name) }, AbortSignal.timeout(timeoutMs))
      // A message got through: the chat's recipient row may now say «working» (see connect/recipients.ts).
      await sql`update telegram_chats set last_sent_at = now(), updated_at = now() where shop_id = ${shopId} and chat_id = ${row.chat_id}`
      log.info('test_message_sent', { shopId, mock: client.mode === 'mock' })
      return { sent: true, error: null, mock: client.mode === 'mock' }
    } catch (err) {
      if (!(err instanceof TelegramError)) throw err
      log.warn('test_message_failed', { shopId, error: err.message })
      return { sent: false, error: err.message, mock: client.mode === 'mock' }
    }
  }

  /** The integration, for the demo-only simulated /start: refused unless TELEGRAM_MODE=mock. */
  async requireMockIntegration(shopId: number): Promise<IntegrationRow> {
    await getShopOr404(this.deps.sql, shopId)
    if (this.deps.client.mode !== 'mock') throw new Conflict('Simulated /start exists only in TELEGRAM_MODE=mock', 'not_mock_mode')
    const row = await findIntegration(this.deps.sql, shopId)
    if (!row) throw new Conflict('Connect a bot token first', 'not_connected')
    if (!row.start_code) throw new Conflict('No connect code is waiting: request a new link first', 'no_start_code')
    return row
  }
}

export function safeDecrypt(cipher: TokenCipher, stored: string, shopId: number | string): string | null {
  try {
    return cipher.decrypt(stored, shopId)
  } catch {
    return null
  }
}
