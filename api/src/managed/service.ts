import { tgUserName, type TelegramClient, type TgUpdate, type TgUser } from '../bot-api'
import { findIntegration, renewStartCode, START_CODE_TTL_SEC, type IntegrationRow, type TelegramService } from '../connect'
import { insertAudit } from '../platform/audit'
import { randomCode, type TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Actor } from '../platform/http/auth'
import { Conflict } from '../platform/http/errors'
import type { Logger } from '../platform/log'
import { getShopOr404 } from '../platform/shops'
import { ManagerBot } from './manager'
import { findStartedLink, hasGroupRecipient, insertManagedLink, latestLiveLink, markManagerUpdateSeen, takeManagedLink, useManagedLink } from './repository'
import { rotateManagedToken } from './rotation'
import {
  ADD_GROUP_BUTTON,
  addGroupText,
  botDescription,
  botNotConnectedText,
  botReadyText,
  botShortDescription,
  CREATE_BOT_BUTTON,
  createBotPrompt,
  managerHelpText,
  OPEN_BOT_BUTTON,
  staleManagedLinkText,
  suggestName,
  suggestUsername,
} from './texts'

/** A managed-bot link works for 30 minutes, like a connect link. */
export const MANAGED_LINK_TTL_SEC = 30 * 60

/** `/start <code>` (the code a t.me/<manager>?start=<code> link carries). */
const START_RE = /^\/start(?:@[A-Za-z0-9_]+)?(?:\s+([A-Za-z0-9_-]{1,64}))?\s*$/

export type ManagedBotDeps = {
  sql: Sql
  client: TelegramClient
  cipher: TokenCipher
  log: Logger
  telegram: TelegramService
  managerToken: string | undefined
  publicUrl: string | undefined
  timeoutMs: number
}

/**
 * One tap to a bot (Bot API 9.6 managed bots). The platform's manager bot answers `/start <code>` with
 * a `request_managed_bot` button; when that person creates a bot (`managed_bot` update) its token is
 * fetched with getManagedBotToken and the shop is connected exactly as a pasted token would be, then
 * the person gets a button that opens the new bot with its connect code. Nobody copies a token.
 */
export class ManagedBotService {
  /** The platform's bot itself: identity, webhook, replies. */
  readonly manager: ManagerBot

  constructor(private readonly deps: ManagedBotDeps) {
    this.manager = new ManagerBot(deps)
  }

  /** `POST /shops/{id}/telegram/managed-link`: a fresh single-use `t.me/<manager>?start=<code>` for 30 minutes. */
  async createLink(shopId: number, actor?: Actor): Promise<{ url: string; expiresAt: string }> {
    const { sql } = this.deps
    await getShopOr404(sql, shopId)
    const me = await this.manager.meForRequest()
    const link = await insertManagedLink(sql, shopId, randomCode(18), MANAGED_LINK_TTL_SEC)
    if (actor) await insertAudit(sql, { shopId, actor, action: 'managed_link_issued' })
    return { url: `https://t.me/${me.username}?start=${link.code}`, expiresAt: new Date(link.expires_at).toISOString() }
  }

  /**
   * An update of the manager bot, by webhook or getUpdates, handled once. Only `/start <code>` and
   * `managed_bot` do anything; the `managed_bot_created` service message repeats `managed_bot`.
   */
  async handle(update: TgUpdate): Promise<'handled' | 'duplicate' | 'ignored'> {
    const { sql, log } = this.deps
    if (!Number.isSafeInteger(update.update_id)) return 'ignored'
    const me = await this.manager.me()
    if (!(await markManagerUpdateSeen(sql, me.id, update.update_id))) return 'duplicate'
    if (update.managed_bot?.user && update.managed_bot.bot) return this.onManagedBot(update.managed_bot.user, update.managed_bot.bot)
    const msg = update.message
    if (!msg?.from || msg.chat?.type !== 'private' || msg.managed_bot_created) return 'ignored'
    const start = START_RE.exec(msg.text?.trim() ?? '')
    const chatId = String(msg.chat.id)
    if (!start?.[1]) {
      if (msg.text) this.manager.say(chatId, { text: managerHelpText })
      return msg.text ? 'handled' : 'ignored'
    }
    const taken = await takeManagedLink(sql, start[1], msg.from.id)
    if (!taken) {
      log.info('managed_link_rejected', {})
      this.manager.say(chatId, { text: staleManagedLinkText })
      return 'handled'
    }
    const shopId = Number(taken.shop_id)
    log.info('managed_link_started', { shopId })
    this.manager.say(chatId, {
      text: createBotPrompt(taken.shop_name),
      replyKeyboard: [
        [
          {
            text: CREATE_BOT_BUTTON,
            requestManagedBot: {
              requestId: shopId % 2_147_483_647,
              suggestedName: suggestName(taken.shop_name),
              suggestedUsername: suggestUsername(taken.shop_name, shopId),
            },
          },
        ],
      ],
    })
    return 'handled'
  }

  /**
   * A bot `user` created through the button: connected to the shop whose live link that same person
   * started, or nothing at all (a stranger's bot, an expired or spent link).
   */
  private async onManagedBot(user: TgUser, bot: TgUser): Promise<'handled' | 'ignored'> {
    const { sql, client, log, telegram, timeoutMs } = this.deps
    const managerToken = this.manager.token()
    const link = await findStartedLink(sql, user.id, bot.id)
    if (!link) {
      log.info('managed_bot_ignored', { reason: 'no_live_link' })
      return 'ignored'
    }
    const shopId = Number(link.shop_id)
    const actor: Actor = { kind: 'telegram', id: String(user.id), label: tgUserName(user) }
    let row: IntegrationRow
    let token: string
    try {
      token = await client.getManagedBotToken(managerToken, bot.id, AbortSignal.timeout(timeoutMs))
      await telegram.connect(shopId, { botToken: token, enabled: true }, actor, {
        managed: true,
        inTransaction: async (tx, stored) => {
          // `telegram.connected` (with `managed: true`) is written by the integration's trigger in this transaction
          if (!(await useManagedLink(tx, link.id, bot.id))) throw new Conflict('The link was spent meanwhile', 'managed_link_spent')
        },
      })
      row = (await findIntegration(sql, shopId))!
    } catch (err) {
      log.warn('managed_bot_not_connected', { shopId, error: err })
      this.manager.say(String(user.id), { text: botNotConnectedText })
      return 'handled'
    }
    log.info('managed_bot_connected', { shopId, bot: row.bot_username })
    const shop = await getShopOr404(sql, shopId)
    // The bot's profile in Russian, from the shop: a convenience, so a refusal does not undo the connect.
    for (const [method, call] of [
      ['setMyName', () => client.setMyName(token, suggestName(shop.name), AbortSignal.timeout(timeoutMs))],
      ['setMyDescription', () => client.setMyDescription(token, botDescription(shop.name), AbortSignal.timeout(timeoutMs))],
      ['setMyShortDescription', () => client.setMyShortDescription(token, botShortDescription(shop.name), AbortSignal.timeout(timeoutMs))],
    ] as const)
      this.manager.track(call().catch((error) => log.warn('bot_profile_not_set', { shopId, method, error })))
    const open = row.start_code ? `https://t.me/${row.bot_username}?start=${row.start_code}` : `https://t.me/${row.bot_username}`
    this.manager.say(String(user.id), { text: botReadyText(shop.name, row.bot_username), keyboard: [[{ text: OPEN_BOT_BUTTON, url: open }]] })
    return 'handled'
  }

  /**
   * After the owner's private chat is bound to a managed bot: the bot offers the florists' group in a
   * tap — Telegram's `startgroup` link opens the group picker, adds the bot and sends
   * `/start@bot <code>` there, which binds the group like any connect link.
   */
  async offerGroup(integration: IntegrationRow, token: string, chat: { id: string; type: string }): Promise<void> {
    if (!integration.managed || chat.type !== 'private') return
    const { sql, client, log, timeoutMs } = this.deps
    const shopId = Number(integration.shop_id)
    if (await hasGroupRecipient(sql, shopId)) return
    const row = await renewStartCode(sql, shopId, randomCode(18), START_CODE_TTL_SEC, 'recipient')
    if (!row?.start_code) return
    const url = `https://t.me/${row.bot_username}?startgroup=${row.start_code}`
    await client
      .sendMessage(token, { chatId: chat.id, text: addGroupText, keyboard: [[{ text: ADD_GROUP_BUTTON, url }]] }, AbortSignal.timeout(timeoutMs))
      .catch((error) => log.warn('group_offer_not_sent', { shopId, error }))
  }

  /** `POST /shops/{id}/telegram/rotate-token` (see rotation.ts). */
  rotate(shopId: number, actor?: Actor): Promise<{ botUsername: string; rotatedAt: string }> {
    return rotateManagedToken({ ...this.deps, manager: this.manager }, shopId, actor)
  }

  /**
   * Demo only (TELEGRAM_MODE=mock): plays Telegram's part for the shop's latest live link — a person
   * opened it and created a bot with the button — through the same code real updates take.
   */
  async simulate(shopId: number): Promise<{ start: string; created: string }> {
    const { sql, client } = this.deps
    await getShopOr404(sql, shopId)
    if (client.mode !== 'mock') throw new Conflict('Simulated managed bots exist only in TELEGRAM_MODE=mock', 'not_mock_mode')
    this.manager.token()
    const link = await latestLiveLink(sql, shopId)
    if (!link) throw new Conflict('No managed-bot link is waiting: request one first (POST …/telegram/managed-link)', 'no_managed_link')
    const person = { id: 100_000_000 + shopId, is_bot: false, first_name: 'Владелец', last_name: '(демо)' }
    const updateId = () => Date.now() * 1000 + Math.floor(Math.random() * 1000)
    const start = await this.handle({
      update_id: updateId(),
      message: { message_id: 1, chat: { id: person.id, type: 'private', first_name: person.first_name }, from: person, text: `/start ${link.code}` },
    })
    const botId = 7_000_000_000 + Math.floor(Math.random() * 1_000_000_000)
    const created = await this.handle({ update_id: updateId(), managed_bot: { user: person, bot: { id: botId, is_bot: true, username: `mock_${botId}_bot` } } })
    await this.manager.settle()
    return { start, created }
  }

  /** Waits for the manager bot's messages still being sent (tests, graceful stop). */
  settle(): Promise<void> {
    return this.manager.settle()
  }
}
