import {
  TelegramError,
  type BotInfo,
  type MessageCopy,
  type OutgoingMessage,
  type OutgoingPhoto,
  type SentMessage,
  type TelegramClient,
  type TgFile,
  type TgUpdate,
} from './client'

export type MockRecord = { method: string; token: string; chatId?: string; text?: string; at: Date }

/**
 * TELEGRAM_MODE=mock: no network. Any well-formed token "exists" (as @mock_<id>_bot), messages are
 * recorded in memory and logged as mock, and `/start` can be simulated through `injectUpdate` so the
 * onboarding flow can be demonstrated without a real bot.
 */
export class MockClient implements TelegramClient {
  readonly mode = 'mock' as const
  readonly records: MockRecord[] = []
  private readonly pending = new Map<string, TgUpdate[]>()
  private nextMessageId = 1
  private nextUpdateId = 1

  private record(method: string, token: string, extra: Partial<MockRecord> = {}) {
    this.records.push({ method, token, at: new Date(), ...extra })
    if (this.records.length > 1000) this.records.shift()
  }

  async getMe(token: string): Promise<BotInfo> {
    const id = Number(token.split(':')[0])
    if (token.includes('revoked'))
      throw new TelegramError({ kind: 'terminal', status: 401, code: 'unauthorized', reason: 'Токен бота недействителен (401): Unauthorized' })
    return { id, username: `mock_${id}_bot`, firstName: 'Mock bot' }
  }
  async sendMessage(token: string, msg: OutgoingMessage): Promise<SentMessage> {
    this.record('sendMessage', token, { chatId: msg.chatId, text: msg.text })
    return { messageId: this.nextMessageId++, chatId: msg.chatId }
  }
  async editMessageText(token: string, msg: OutgoingMessage & { messageId: number }): Promise<void> {
    this.record('editMessageText', token, { chatId: msg.chatId, text: msg.text })
  }
  async sendPhoto(token: string, msg: OutgoingPhoto): Promise<SentMessage> {
    this.record('sendPhoto', token, { chatId: msg.chatId, text: msg.caption })
    return { messageId: this.nextMessageId++, chatId: msg.chatId }
  }
  async copyMessage(token: string, msg: MessageCopy): Promise<SentMessage> {
    this.record('copyMessage', token, { chatId: msg.chatId })
    return { messageId: this.nextMessageId++, chatId: msg.chatId }
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

  /** Queues an update as if a user had written to the bot; the poller picks it up. */
  injectUpdate(token: string, build: (updateId: number) => TgUpdate): void {
    const list = this.pending.get(token) ?? []
    list.push(build(this.nextUpdateId++))
    this.pending.set(token, list)
  }
}
