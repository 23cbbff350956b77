import type { Logger } from '../platform/log'
import {
  TelegramError,
  type BotInfo,
  type Keyboard,
  type MessageCopy,
  type OutgoingMessage,
  type OutgoingPhoto,
  type SentMessage,
  type TelegramClient,
  type TgFile,
  type TgUpdate,
} from './client'

/** One call the mock answered instead of Telegram: what a florist would have seen. */
export type MockRecord = {
  method: string
  chatId?: string
  threadId?: number | null
  messageId?: number
  text?: string
  keyboard?: Keyboard
  silent?: boolean
  at: Date
}

/** Calls kept per bot (newest win) and bots kept in all: a demo's memory stays bounded. */
const KEPT_PER_BOT = 200
const KEPT_BOTS = 1000

/**
 * TELEGRAM_MODE=mock: no network. Any well-formed token "exists" (as @mock_<id>_bot), messages are
 * recorded in memory per bot (`recorded`, read by `GET /shops/{id}/telegram/mock-messages`) and logged
 * one line per send, and `/start` can be simulated through `injectUpdate` so the onboarding flow can
 * be demonstrated without a real bot.
 */
export class MockClient implements TelegramClient {
  readonly mode = 'mock' as const
  private readonly byBot = new Map<string, MockRecord[]>()
  private readonly pending = new Map<string, TgUpdate[]>()
  private nextMessageId = 1
  private nextUpdateId = 1
  /** Tokens replaced by replaceManagedBotToken: Telegram refuses them at once. */
  private readonly revoked = new Set<string>()
  private readonly managedTokens = new Map<number, string>()

  constructor(private readonly log?: Logger) {}

  private record(method: string, token: string, extra: Partial<MockRecord> = {}) {
    let list = this.byBot.get(token)
    if (!list) {
      if (this.byBot.size >= KEPT_BOTS) this.byBot.delete(this.byBot.keys().next().value!)
      list = []
      this.byBot.set(token, list)
    }
    list.push({ method, at: new Date(), ...extra })
    if (list.length > KEPT_PER_BOT) list.shift()
    if (extra.text !== undefined)
      // The bot's numeric id is public (it is in t.me links); the token's secret half never is.
      this.log?.info('telegram_mock_send', {
        method,
        botId: Number(token.split(':')[0]) || null,
        chatId: extra.chatId ?? null,
        text: extra.text,
        buttons: extra.keyboard?.flat().map((b) => b.text) ?? [],
      })
  }

  /** Every bot's calls, oldest first (for tests and tools that do not know a bot's token). */
  get records(): MockRecord[] {
    return [...this.byBot.values()].flat().sort((a, b) => a.at.getTime() - b.at.getTime())
  }

  /** What this bot "sent", newest first: messages, edits and toasts (calls with a text), as Telegram would have shown them. */
  recorded(token: string, limit = KEPT_PER_BOT): MockRecord[] {
    return (this.byBot.get(token) ?? [])
      .filter((r) => r.text !== undefined)
      .slice(-limit)
      .reverse()
  }

  async getMe(token: string): Promise<BotInfo> {
    const id = Number(token.split(':')[0])
    if (token.includes('revoked') || this.revoked.has(token))
      throw new TelegramError({ kind: 'terminal', status: 401, code: 'unauthorized', reason: 'Токен бота недействителен (401): Unauthorized' })
    return { id, username: `mock_${id}_bot`, firstName: 'Mock bot' }
  }
  async sendMessage(token: string, msg: OutgoingMessage): Promise<SentMessage> {
    const messageId = this.nextMessageId++
    this.record('sendMessage', token, { ...shown(msg), messageId })
    return { messageId, chatId: msg.chatId }
  }
  async editMessageText(token: string, msg: OutgoingMessage & { messageId: number }): Promise<void> {
    this.record('editMessageText', token, { ...shown(msg), messageId: msg.messageId })
  }
  async sendPhoto(token: string, msg: OutgoingPhoto): Promise<SentMessage> {
    const messageId = this.nextMessageId++
    this.record('sendPhoto', token, { chatId: msg.chatId, messageId, text: `[фото] ${msg.caption ?? ''}`, keyboard: msg.keyboard ?? [] })
    return { messageId, chatId: msg.chatId }
  }
  async copyMessage(token: string, msg: MessageCopy): Promise<SentMessage> {
    const messageId = this.nextMessageId++
    this.record('copyMessage', token, { chatId: msg.chatId, messageId, text: `[копия сообщения] ${msg.caption ?? ''}` })
    return { messageId, chatId: msg.chatId }
  }
  /** Mock mode keeps no files: a photo id resolves to a path whose download is a 1×1 PNG. */
  async getFile(token: string, fileId: string): Promise<TgFile> {
    this.record('getFile', token)
    return { fileId, filePath: `photos/${fileId}.png` }
  }
  async downloadFile(): Promise<Uint8Array> {
    return Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='), (c) => c.charCodeAt(0))
  }
  async answerCallbackQuery(token: string, _id: string, text: string | { text?: string; url?: string }): Promise<void> {
    this.record('answerCallbackQuery', token, { text: typeof text === 'string' ? text : (text.text ?? text.url) })
  }
  async setWebhook(token: string): Promise<void> {
    this.record('setWebhook', token)
  }
  async deleteWebhook(token: string): Promise<void> {
    this.record('deleteWebhook', token)
  }
  async getUpdates(token: string, opts: { offset: number }): Promise<TgUpdate[]> {
    const queue = (this.pending.get(token) ?? []).filter((u) => u.update_id >= opts.offset)
    this.pending.set(token, queue)
    return queue
  }

  async setMyCommands(token: string): Promise<void> {
    this.record('setMyCommands', token)
  }
  async setChatMenuButton(token: string, opts: { chatId: string }): Promise<void> {
    this.record('setChatMenuButton', token, { chatId: opts.chatId })
  }

  async setMyName(token: string, name: string): Promise<void> {
    this.record('setMyName', token, { text: name })
  }
  async setMyDescription(token: string, description: string): Promise<void> {
    this.record('setMyDescription', token, { text: description })
  }
  async setMyShortDescription(token: string, shortDescription: string): Promise<void> {
    this.record('setMyShortDescription', token, { text: shortDescription })
  }
  /** A managed bot's token is made up once per bot id (`<id>:mock…`) and kept until replaced. */
  async getManagedBotToken(managerToken: string, botId: number): Promise<string> {
    this.record('getManagedBotToken', managerToken)
    let token = this.managedTokens.get(botId)
    if (!token) {
      token = `${botId}:AAmock${crypto.randomUUID().replaceAll('-', '')}`
      this.managedTokens.set(botId, token)
    }
    return token
  }
  async replaceManagedBotToken(managerToken: string, botId: number): Promise<string> {
    const old = await this.getManagedBotToken(managerToken, botId)
    this.revoked.add(old)
    this.managedTokens.delete(botId)
    this.record('replaceManagedBotToken', managerToken)
    return this.getManagedBotToken(managerToken, botId)
  }

  /** Queues an update as if a user had written to the bot; the poller picks it up. */
  injectUpdate(token: string, build: (updateId: number) => TgUpdate): void {
    const list = this.pending.get(token) ?? []
    list.push(build(this.nextUpdateId++))
    this.pending.set(token, list)
  }
}

const shown = (msg: OutgoingMessage): Partial<MockRecord> => ({
  chatId: msg.chatId,
  threadId: msg.threadId ?? null,
  text: msg.text,
  keyboard: msg.keyboard ?? [],
  silent: !!msg.silent,
})
