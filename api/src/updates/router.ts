import type { Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import type { TelegramClient, TgMessage, TgUpdate } from '../bot-api'
import { connectedMessageText, helpText, pausedChatText, staleCodeText } from '../notifications'
import { bindChatByStartCode, isPausedChat, markUpdateSeen, setChatMemberStatus, type IntegrationRow } from '../connect'
import { safeDecrypt } from '../connect'
import type { TokenCipher } from '../platform/crypto'
import type { BotCommands, Reply } from './commands'
import { canOpenMiniApp, miniAppUrl } from '../orders'

/** `/start <code>` or `/start@bot <code>`; the code is what t.me/<bot>?start=<code> carries. */
const START_RE = /^\/start(?:@([A-Za-z0-9_]+))?(?:\s+([A-Za-z0-9_-]{1,64}))?\s*$/
const HELP_RE = /^\/help(?:@([A-Za-z0-9_]+))?\s*$/

export type CallbackHandler = (integration: IntegrationRow, token: string, update: TgUpdate) => Promise<void>
/** A feature's claim on a message (a photo, a `/start <code>` that is not a connect code): true when it handled it. */
export type MessageHandler = (integration: IntegrationRow, token: string, msg: NonNullable<TgUpdate['message']>, code?: string) => Promise<boolean>
/** Runs after a chat was bound by its connect code and told so (e.g. a managed bot then offers the florists' group). */
export type ChatBoundHandler = (integration: IntegrationRow, token: string, chat: { id: string; type: string }) => Promise<void>

/**
 * What the bot does with an update, whether it came by webhook or by getUpdates: bind the chat on
 * `/start <code>`, answer `/help`, note when it is removed from the chat. Each update is handled once
 * (by update_id). Replies to the chat are sent after the binding is stored and never block the answer
 * to Telegram: a webhook must answer fast.
 */
export class UpdateRouter {
  private readonly background = new Set<Promise<unknown>>()

  constructor(
    private readonly deps: {
      sql: Sql
      client: TelegramClient
      cipher: TokenCipher
      log: Logger
      timeoutMs: number
      onCallback: CallbackHandler
      commands: BotCommands
      publicUrl?: string
      /** a photo message (couriers: the proof of delivery) */
      onPhoto?: MessageHandler
      /** `/start <code>` before it is tried as a connect code (couriers: the link their press opened) */
      onStart?: MessageHandler
      onChatBound?: ChatBoundHandler
      /** People talking to the shop through the bot (buyers): asked first about every message. */
      conversations?: { onMessage(integration: IntegrationRow, token: string, msg: TgMessage): Promise<boolean> }
    },
  ) {}

  private reply(token: string, chatId: string, text: string, shopId: string, threadId: number | null = null) {
    return this.send(token, { chatId, text, threadId }, shopId)
  }

  private send(token: string, r: Reply & { messageId?: number }, shopId: string) {
    const { client, timeoutMs, log } = this.deps
    const msg = { chatId: r.chatId, text: r.text, threadId: r.threadId, keyboard: r.keyboard }
    const call = r.messageId
      ? client.editMessageText(token, { ...msg, messageId: r.messageId }, AbortSignal.timeout(timeoutMs))
      : client.sendMessage(token, msg, AbortSignal.timeout(timeoutMs))
    const done = call.catch((err) => log.warn('bot_reply_failed', { shopId, error: err }))
    this.track(done)
    return done
  }

  /** Replies run in the background (a webhook must answer fast); `settle` waits for them. */
  private track(p: Promise<unknown>) {
    this.background.add(p)
    p.finally(() => this.background.delete(p))
  }

  /** Waits for replies still being sent (tests, graceful stop). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.background])
  }

  /** Demo mode: the update Telegram would send when the owner opens the connect link. */
  async simulateStart(integration: IntegrationRow, chatType: 'private' | 'group') {
    const chatId = chatType === 'group' ? -1_000_000_000_000 - Number(integration.shop_id) : 100_000_000 + Number(integration.shop_id)
    const chat =
      chatType === 'group'
        ? { id: chatId, type: 'group', title: 'Демо-группа магазина' }
        : { id: chatId, type: 'private', first_name: 'Владелец', last_name: '(демо)' }
    const text = chatType === 'group' ? `/start@${integration.bot_username} ${integration.start_code}` : `/start ${integration.start_code}`
    const from = { id: chatType === 'group' ? 100_000_000 + Number(integration.shop_id) : chatId, is_bot: false, first_name: 'Владелец' }
    return this.handle(integration, { update_id: Date.now() * 1000 + Math.floor(Math.random() * 1000), message: { message_id: 1, chat, from, text } })
  }

  async handle(integration: IntegrationRow, update: TgUpdate): Promise<'handled' | 'duplicate' | 'ignored'> {
    const { sql, cipher, log } = this.deps
    if (!Number.isSafeInteger(update.update_id)) return 'ignored'
    if (!(await markUpdateSeen(sql, integration.id, update.update_id))) return 'duplicate'
    const token = safeDecrypt(cipher, integration.bot_token, integration.shop_id)
    if (!token) return 'ignored'
    const shopId = integration.shop_id

    if (update.my_chat_member?.chat && update.my_chat_member.new_chat_member?.status) {
      const status = update.my_chat_member.new_chat_member.status
      const changed = await setChatMemberStatus(sql, integration.id, String(update.my_chat_member.chat.id), status)
      if (changed) log.info('bot_membership_changed', { shopId, status })
      return 'handled'
    }

    if (update.callback_query) {
      // a paused recipient's old buttons do nothing but say so
      if (await isPausedChat(sql, shopId, update.callback_query.message?.chat?.id)) {
        log.info('callback_refused', { shopId, reason: 'chat_paused' })
        await this.deps.client
          .answerCallbackQuery(token, update.callback_query.id, pausedChatText, AbortSignal.timeout(this.deps.timeoutMs))
          .catch((err) => log.warn('callback_answer_failed', { shopId, error: err }))
        return 'handled'
      }
      const list = await this.deps.commands.press(integration, update.callback_query)
      if (list) {
        if (list.edit) this.send(token, list.edit, shopId)
        if (list.send) this.send(token, list.send, shopId)
        await this.deps.client
          .answerCallbackQuery(token, update.callback_query.id, '', AbortSignal.timeout(this.deps.timeoutMs))
          .catch((err) => log.warn('callback_answer_failed', { shopId, error: err }))
        return 'handled'
      }
      await this.deps.onCallback(integration, token, update)
      return 'handled'
    }

    const msg = update.message
    // a courier's photo of the handover is theirs alone (only while their «Доставлено» waits for one)
    if (msg?.photo?.length && msg.chat && (await this.deps.onPhoto?.(integration, token, msg))) return 'handled'
    if (msg?.chat && (await this.deps.conversations?.onMessage(integration, token, msg))) return 'handled'
    const text = msg?.text?.trim()
    if (!msg || !text || !msg.chat) return 'ignored'
    const chatId = String(msg.chat.id)

    const help = HELP_RE.exec(text)
    if (help && (!help[1] || help[1].toLowerCase() === integration.bot_username.toLowerCase())) {
      this.reply(token, chatId, helpText, shopId)
      return 'handled'
    }
    const answer = await this.deps.commands.answer(integration, msg)
    if (answer) {
      log.info('command_answered', { shopId, command: text.split(/[\s@]/, 1)[0] })
      this.send(token, answer, shopId)
      return 'handled'
    }
    const start = START_RE.exec(text)
    if (!start) return 'ignored'
    if (start[1] && start[1].toLowerCase() !== integration.bot_username.toLowerCase()) return 'ignored'
    const code = start[2]
    if (!code) {
      this.reply(token, chatId, helpText, shopId)
      return 'handled'
    }
    if (await this.deps.onStart?.(integration, token, msg, code)) return 'handled'
    const title = msg.chat.title ?? ([msg.chat.first_name, msg.chat.last_name].filter(Boolean).join(' ') || msg.chat.username || null)
    // Sent inside a topic of a forum supergroup: that topic becomes the recipient.
    const threadId = msg.is_topic_message && msg.message_thread_id ? msg.message_thread_id : null
    const bound = await bindChatByStartCode(sql, integration.id, code, { id: chatId, title, type: msg.chat.type, threadId, fromUserId: msg.from?.id ?? null })
    if (!bound) {
      log.info('start_code_rejected', { shopId })
      this.reply(token, chatId, staleCodeText, shopId)
      return 'handled'
    }
    log.info('chat_bound', { shopId, chatType: msg.chat.type, topic: !!threadId, recipientId: bound.recipient_id, owner: bound.owner })
    const told = this.reply(token, chatId, connectedMessageText(bound.shop_name), shopId, threadId)
    const { onChatBound } = this.deps
    if (onChatBound)
      this.track(
        told
          .then(() => onChatBound(integration, token, { id: chatId, type: msg.chat.type }))
          .catch((err) => log.warn('chat_bound_hook_failed', { shopId, error: err })),
      )
    // the owner's private chat gets the menu button «Заказы»: the shop's page inside Telegram (a Mini App needs https)
    const { publicUrl } = this.deps
    if (publicUrl && bound.owner && canOpenMiniApp(publicUrl, chatId)) {
      this.track(
        this.deps.client
          .setChatMenuButton(token, { chatId, text: 'Заказы', url: miniAppUrl(publicUrl, shopId) }, AbortSignal.timeout(this.deps.timeoutMs))
          .catch((err) => log.warn('menu_button_not_set', { shopId, error: err })),
      )
    }
    return 'handled'
  }
}
