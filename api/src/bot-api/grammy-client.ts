import { Api, GrammyError, HttpError } from 'grammy'
import { redact } from '../platform/log'
import {
  ALLOWED_UPDATES,
  TelegramError,
  type BotCommand,
  type BotInfo,
  type Keyboard,
  type MessageCopy,
  type OutgoingPhoto,
  type TgFile,
  type OutgoingMessage,
  type ReplyButton,
  type SentMessage,
  type TelegramClient,
  type TelegramFailure,
  type TgUpdate,
} from './client'

const PARSE_MODE = 'HTML' as const
/** grammY types its signal with the abort-controller shim; at run time it is the platform's own. */
type GrammySignal = NonNullable<Parameters<Api['getMe']>[0]>

function toReplyMarkup(rows: ReplyButton[][]) {
  return {
    keyboard: rows.map((row) =>
      row.map((b) =>
        b.requestManagedBot
          ? {
              text: b.text,
              request_managed_bot: {
                request_id: b.requestManagedBot.requestId,
                ...(b.requestManagedBot.suggestedName ? { suggested_name: b.requestManagedBot.suggestedName } : {}),
                ...(b.requestManagedBot.suggestedUsername ? { suggested_username: b.requestManagedBot.suggestedUsername } : {}),
              },
            }
          : { text: b.text },
      ),
    ),
    resize_keyboard: true,
    one_time_keyboard: true,
  }
}

function toMarkup(k?: Keyboard) {
  if (!k) return undefined
  return {
    inline_keyboard: k.map((row) =>
      row.map((b) =>
        'url' in b
          ? { text: b.text, url: b.url }
          : 'webApp' in b
            ? { text: b.text, web_app: { url: b.webApp } }
            : 'copyText' in b
              ? { text: b.text, copy_text: { text: b.copyText } }
              : { text: b.text, callback_data: b.callbackData },
      ),
    ),
  }
}

/** A message's place: topic, silence and the message it replies to (sent anyway if that one is gone). */
function placement(m: { threadId?: number | null; silent?: boolean; replyToMessageId?: number | null }) {
  return {
    ...(m.threadId ? { message_thread_id: m.threadId } : {}),
    ...(m.silent ? { disable_notification: true } : {}),
    ...(m.replyToMessageId ? { reply_parameters: { message_id: m.replyToMessageId, allow_sending_without_reply: true } } : {}),
  }
}

/** What the owner should do about a 403, in their words. */
function forbiddenHint(description: string): string {
  if (/blocked by the user/i.test(description)) return 'Бот заблокирован в Telegram: откройте чат с ботом и нажмите «Разблокировать»'
  if (/kicked|not a member|removed/i.test(description)) return 'Бота удалили из чата: добавьте его обратно в группу'
  return 'Боту запрещено писать в этот чат: добавьте бота в чат и разрешите ему отправлять сообщения'
}

/**
 * Turns whatever grammY threw into a TelegramFailure. This is the client boundary: grammY's
 * HttpError wraps the fetch error, whose text repeats the request URL and so the token; nothing
 * leaves this function without passing through `redact` and losing that URL.
 */
export function classify(err: unknown, token: string): TelegramFailure {
  const clean = (s: string) => redact(s.split(token).join('<redacted-token>'))
  if (err instanceof GrammyError) {
    const description = clean(err.description ?? '')
    const status = err.error_code
    const params = err.parameters ?? {}
    if (params.migrate_to_chat_id !== undefined) {
      return { kind: 'migrated', reason: `Чат стал супергруппой: ${description}`, newChatId: String(params.migrate_to_chat_id) }
    }
    if (status === 429) return { kind: 'transient', status, reason: `Telegram просит подождать: ${description}`, retryAfterSec: params.retry_after ?? 1 }
    if (status >= 500) return { kind: 'transient', status, reason: `Telegram временно недоступен (${status}): ${description}` }
    if (status === 401)
      return {
        kind: 'terminal',
        status,
        code: 'unauthorized',
        reason: `Токен бота недействителен (отозван в @BotFather?): сохраните новый токен (${status}: ${description})`,
      }
    if (status === 403) {
      const code = /blocked by the user/i.test(description) ? 'blocked' : /kicked|not a member|removed/i.test(description) ? 'kicked' : 'forbidden'
      return { kind: 'terminal', status, code, reason: `${forbiddenHint(description)} (${status}: ${description})` }
    }
    if (status === 409) return { kind: 'terminal', status, code: 'conflict', reason: `Конфликт (${status}): ${description}` }
    if (/message is not modified/i.test(description)) return { kind: 'terminal', status, code: 'not_modified', reason: description }
    if (/message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i.test(description))
      return { kind: 'terminal', status, code: 'message_gone', reason: description }
    if (/chat not found|PEER_ID_INVALID|user not found/i.test(description))
      return {
        kind: 'terminal',
        status,
        code: 'chat_not_found',
        reason: `Чат не найден: проверьте chat id или подключите чат заново по ссылке (${status}: ${description})`,
      }
    return { kind: 'terminal', status, code: 'bad_request', reason: `Telegram отклонил запрос (${status}): ${description}` }
  }
  if (err instanceof HttpError) {
    const inner = err.error instanceof Error ? `${err.error.name}: ${err.error.message}` : ''
    // The inner message of a fetch failure can carry the URL (with the token): keep its kind only.
    const kind = /timed out|abort/i.test(`${err.message} ${inner}`) ? 'timeout' : 'network error'
    return { kind: 'transient', reason: `Telegram не ответил (${kind})` }
  }
  if (err instanceof Error && /abort|timed out/i.test(err.name + err.message)) return { kind: 'transient', reason: 'Telegram не ответил (timeout)' }
  return { kind: 'transient', reason: `Ошибка связи с Telegram: ${clean(err instanceof Error ? err.message : String(err))}` }
}

/** The real client: grammY's `Api`, one per token, pointed at TELEGRAM_API_ROOT. */
export class GrammyClient implements TelegramClient {
  readonly mode = 'real' as const
  private readonly apis = new Map<string, Api>()

  constructor(private readonly opts: { apiRoot: string; timeoutMs: number }) {}

  private api(token: string): Api {
    let api = this.apis.get(token)
    if (!api) {
      api = new Api(token, {
        apiRoot: this.opts.apiRoot,
        // grammY's own timeout is a backstop; the caller's AbortSignal is the real deadline.
        timeoutSeconds: Math.max(1, Math.ceil(this.opts.timeoutMs / 1000)),
        fetch: globalThis.fetch as never,
        sensitiveLogs: false,
      })
      if (this.apis.size > 5000) this.apis.clear()
      this.apis.set(token, api)
    }
    return api
  }

  private async call<T>(token: string, fn: (api: Api, signal: GrammySignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = AbortSignal.timeout(this.opts.timeoutMs)
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline
    try {
      return await fn(this.api(token), combined as unknown as GrammySignal)
    } catch (err) {
      throw new TelegramError(classify(err, token))
    }
  }

  async getMe(token: string, signal?: AbortSignal): Promise<BotInfo> {
    const me = await this.call(token, (api, s) => api.getMe(s), signal)
    return { id: me.id, username: me.username, firstName: me.first_name, canManageBots: me.can_manage_bots }
  }

  async sendMessage(token: string, msg: OutgoingMessage, signal?: AbortSignal): Promise<SentMessage> {
    const sent = await this.call(
      token,
      (api, s) =>
        api.sendMessage(
          msg.chatId,
          msg.text,
          {
            parse_mode: PARSE_MODE,
            link_preview_options: { is_disabled: true },
            reply_markup: msg.replyKeyboard ? toReplyMarkup(msg.replyKeyboard) : toMarkup(msg.keyboard),
            ...(msg.threadId ? { message_thread_id: msg.threadId } : {}),
            ...(msg.silent ? { disable_notification: true } : {}),
            ...(msg.replyToMessageId ? { reply_parameters: { message_id: msg.replyToMessageId, allow_sending_without_reply: true } } : {}),
          },
          s,
        ),
      signal,
    )
    return { messageId: sent.message_id, chatId: String(sent.chat.id) }
  }

  async editMessageText(token: string, msg: OutgoingMessage & { messageId: number }, signal?: AbortSignal): Promise<void> {
    await this.call(
      token,
      (api, s) =>
        api.editMessageText(
          msg.chatId,
          msg.messageId,
          msg.text,
          { parse_mode: PARSE_MODE, link_preview_options: { is_disabled: true }, reply_markup: toMarkup(msg.keyboard) },
          s,
        ),
      signal,
    )
  }

  async sendPhoto(token: string, msg: OutgoingPhoto, signal?: AbortSignal): Promise<SentMessage> {
    const sent = await this.call(
      token,
      (api, s) =>
        api.sendPhoto(
          msg.chatId,
          msg.photo,
          {
            ...(msg.caption ? { caption: msg.caption, parse_mode: PARSE_MODE } : {}),
            reply_markup: toMarkup(msg.keyboard),
            ...placement(msg),
          },
          s,
        ),
      signal,
    )
    return { messageId: sent.message_id, chatId: String(sent.chat.id) }
  }

  async copyMessage(token: string, msg: MessageCopy, signal?: AbortSignal): Promise<SentMessage> {
    const sent = await this.call(
      token,
      (api, s) =>
        api.copyMessage(
          msg.chatId,
          msg.fromChatId,
          msg.messageId,
          { ...(msg.caption ? { caption: msg.caption, parse_mode: PARSE_MODE } : {}), ...placement(msg) },
          s,
        ),
      signal,
    )
    return { messageId: sent.message_id, chatId: msg.chatId }
  }

  async getFile(token: string, fileId: string, signal?: AbortSignal): Promise<TgFile> {
    const f = await this.call(token, (api, s) => api.getFile(fileId, s), signal)
    if (!f.file_path) throw new TelegramError({ kind: 'terminal', status: 400, code: 'bad_request', reason: 'Telegram не отдал файл (нет file_path)' })
    return { fileId: f.file_id, filePath: f.file_path, fileSize: f.file_size }
  }

  async downloadFile(token: string, filePath: string, signal?: AbortSignal): Promise<Uint8Array> {
    const deadline = AbortSignal.timeout(this.opts.timeoutMs)
    // the download URL carries the token: no error from here may repeat it
    const url = `${this.opts.apiRoot}/file/bot${token}/${filePath.split('/').map(encodeURIComponent).join('/')}`
    let res: Response
    try {
      res = await fetch(url, { signal: signal ? AbortSignal.any([signal, deadline]) : deadline })
    } catch (err) {
      throw new TelegramError(classify(err, token))
    }
    if (res.status >= 500) throw new TelegramError({ kind: 'transient', status: res.status, reason: `Telegram временно недоступен (${res.status})` })
    if (!res.ok) throw new TelegramError({ kind: 'terminal', status: res.status, code: 'bad_request', reason: `Файл не скачан (${res.status})` })
    return new Uint8Array(await res.arrayBuffer())
  }

  async answerCallbackQuery(token: string, id: string, text: string | { text?: string; url?: string }, signal?: AbortSignal): Promise<void> {
    const o = typeof text === 'string' ? { text } : text
    await this.call(token, (api, s) => api.answerCallbackQuery(id, { ...(o.text ? { text: o.text } : {}), ...(o.url ? { url: o.url } : {}) }, s), signal)
  }

  async setWebhook(token: string, opts: { url: string; secretToken: string; allowedUpdates?: readonly string[] }, signal?: AbortSignal): Promise<void> {
    const allowed = [...(opts.allowedUpdates ?? ALLOWED_UPDATES)] as (typeof ALLOWED_UPDATES)[number][]
    await this.call(
      token,
      (api, s) => api.setWebhook(opts.url, { secret_token: opts.secretToken, allowed_updates: allowed, drop_pending_updates: false }, s),
      signal,
    )
  }

  async deleteWebhook(token: string, signal?: AbortSignal): Promise<void> {
    await this.call(token, (api, s) => api.deleteWebhook({ drop_pending_updates: false }, s), signal)
  }

  async getUpdates(token: string, opts: { offset: number; timeoutSec: number; allowedUpdates?: readonly string[] }, signal?: AbortSignal): Promise<TgUpdate[]> {
    const allowed = [...(opts.allowedUpdates ?? ALLOWED_UPDATES)] as (typeof ALLOWED_UPDATES)[number][]
    const updates = await this.call(token, (api, s) => api.getUpdates({ offset: opts.offset, timeout: opts.timeoutSec, allowed_updates: allowed }, s), signal)
    return updates as unknown as TgUpdate[]
  }

  async setMyCommands(token: string, commands: BotCommand[], signal?: AbortSignal): Promise<void> {
    await this.call(token, (api, s) => api.setMyCommands(commands, {}, s), signal)
  }

  async setChatMenuButton(token: string, opts: { chatId: string; text: string; url: string }, signal?: AbortSignal): Promise<void> {
    await this.call(
      token,
      (api, s) => api.setChatMenuButton({ chat_id: Number(opts.chatId), menu_button: { type: 'web_app', text: opts.text, web_app: { url: opts.url } } }, s),
      signal,
    )
  }

  async setMyName(token: string, name: string, signal?: AbortSignal): Promise<void> {
    await this.call(token, (api, s) => api.setMyName(name, {}, s), signal)
  }

  async setMyDescription(token: string, description: string, signal?: AbortSignal): Promise<void> {
    await this.call(token, (api, s) => api.setMyDescription(description, {}, s), signal)
  }

  async setMyShortDescription(token: string, shortDescription: string, signal?: AbortSignal): Promise<void> {
    await this.call(token, (api, s) => api.setMyShortDescription(shortDescription, {}, s), signal)
  }

  async getManagedBotToken(managerToken: string, botId: number, signal?: AbortSignal): Promise<string> {
    return this.call(managerToken, (api, s) => api.getManagedBotToken(botId, s), signal)
  }

  async replaceManagedBotToken(managerToken: string, botId: number, signal?: AbortSignal): Promise<string> {
    return this.call(managerToken, (api, s) => api.replaceManagedBotToken(botId, s), signal)
  }
}
