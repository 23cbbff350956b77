/**
 * What the features need from Telegram, and nothing more. Two implementations: `GrammyClient`
 * (the real Bot API through grammY) and `MockClient` (records messages, for demos). The bot token is
 * an argument of every call because one process serves many shops, each with its own bot.
 */

export type BotInfo = {
  id: number
  username: string
  firstName: string
  /** Bot management mode is on in @BotFather (Bot API 9.6 `can_manage_bots`); undefined when Telegram did not say. */
  canManageBots?: boolean
}

/** `webApp` opens a Mini App (private chats only; Telegram refuses it in groups); `copyText` copies its text to the clipboard (Bot API 7.11). */
export type InlineButton =
  | { text: string; callbackData: string }
  | { text: string; url: string }
  | { text: string; webApp: string }
  | { text: string; copyText: string }
export type Keyboard = InlineButton[][]

/**
 * A reply-keyboard button (under the input field, private chats): `requestManagedBot` asks the person
 * to create a bot managed by this one (Bot API 9.6 KeyboardButtonRequestManagedBot).
 */
export type ReplyButton = { text: string; requestManagedBot?: { requestId: number; suggestedName?: string; suggestedUsername?: string } }

export type OutgoingMessage = {
  chatId: string
  text: string
  keyboard?: Keyboard
  /** A forum topic (`message_thread_id`). */
  threadId?: number | null
  /** Send silently (`disable_notification`), e.g. inside a recipient's quiet hours. */
  silent?: boolean
  /** A reply to this message of the chat (e.g. a reminder under its order), sent anyway if it is gone. */
  replyToMessageId?: number | null
  /** A reply keyboard instead of `keyboard` (inline); shown once, then hidden. */
  replyKeyboard?: ReplyButton[][]
}
export type SentMessage = { messageId: number; chatId: string }

/** Where a copy or a photo goes, as for a text message (no text: a photo has a caption, a copy its own). */
type Placement = Pick<OutgoingMessage, 'chatId' | 'threadId' | 'silent' | 'replyToMessageId'>
/** A photo Telegram already has (`file_id`, valid for the same bot), with an optional caption and buttons. */
export type OutgoingPhoto = Placement & { photo: string; caption?: string; keyboard?: Keyboard }
/** A copy of a message of another chat (`copyMessage`): any media, without the «forwarded from» header. */
export type MessageCopy = Placement & { fromChatId: string; messageId: number; caption?: string }
/** A file Telegram keeps, ready to download (`getFile`). */
export type TgFile = { fileId: string; filePath: string; fileSize?: number }

/** The subset of a Telegram Update this service reacts to, in Telegram's own field names. */
export type TgChat = { id: number; type: string; title?: string; username?: string; first_name?: string; last_name?: string }
export type TgUser = { id: number; is_bot?: boolean; first_name?: string; last_name?: string; username?: string }
/** One size of a photo; Telegram sends several, the largest last. */
export type TgPhotoSize = { file_id: string; file_unique_id?: string; width?: number; height?: number; file_size?: number }
export type TgMessage = {
  message_id: number
  chat: TgChat
  from?: TgUser
  text?: string
  caption?: string
  photo?: TgPhotoSize[]
  date?: number
  message_thread_id?: number
  is_topic_message?: boolean
  /** the manager bot hears of a bot it created (managed bots) */
  managed_bot_created?: { bot: TgUser }
  /** the message this one replies to (Telegram includes it once, without its own reply) */
  reply_to_message?: Omit<TgMessage, 'reply_to_message'>
}
export type TgUpdate = {
  update_id: number
  message?: TgMessage
  my_chat_member?: { chat: TgChat; from?: TgUser; new_chat_member?: { status?: string } }
  /** A bot managed by this one was created (or its token or owner changed): `user` created it. */
  managed_bot?: { user: TgUser; bot: TgUser }
  callback_query?: {
    id: string
    from: TgUser
    data?: string
    message?: { message_id: number; chat: TgChat; message_thread_id?: number; is_topic_message?: boolean }
  }
}

/** How a Telegram user is named to people: «Ольга Петрова», else @username, else the id. */
export const tgUserName = (u: TgUser) => [u.first_name, u.last_name].filter(Boolean).join(' ') || (u.username ? `@${u.username}` : `id ${u.id}`)

export const ALLOWED_UPDATES = ['message', 'my_chat_member', 'callback_query'] as const
/** What the platform's manager bot asks for: /start messages and the bots people create through it. */
export const MANAGER_ALLOWED_UPDATES = ['message', 'managed_bot'] as const

/**
 * Why a call failed, as the delivery loop needs to know it:
 * - `transient`: network, timeout, 5xx, 429 (with `retryAfterSec`): try again later;
 * - `migrated`: the group became a supergroup with `newChatId`: store it and resend;
 * - `terminal`: the token was revoked, the bot was blocked or kicked, the chat does not exist,
 *   or Telegram refused the request as malformed: retrying cannot help.
 */
export type TelegramFailure =
  | { kind: 'transient'; reason: string; status?: number; retryAfterSec?: number }
  | { kind: 'migrated'; reason: string; newChatId: string }
  | {
      kind: 'terminal'
      reason: string
      status: number
      code: 'unauthorized' | 'blocked' | 'kicked' | 'forbidden' | 'chat_not_found' | 'not_modified' | 'message_gone' | 'bad_request' | 'conflict'
    }

/**
 * Why a notification failed, for programs (the settings page picks its advice by it); the readable
 * reason goes next to it. Stored in `telegram_send_log.error_code`.
 */
export const ERROR_CODES = [
  'bot_blocked',
  'bot_kicked',
  'forbidden',
  'token_revoked',
  'chat_not_found',
  'telegram_unavailable',
  'rate_limited',
  'rejected',
  'not_connected',
  'no_chat',
  'disabled',
  'token_unreadable',
  'attempts_exhausted',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** Shown in the API docs next to every `errorCode`. */
export const ERROR_CODES_DOC = `Why it failed, for programs: ${ERROR_CODES.join(', ')}`

export function errorCodeOf(f: TelegramFailure): ErrorCode {
  if (f.kind === 'transient') return f.status === 429 ? 'rate_limited' : 'telegram_unavailable'
  if (f.kind === 'migrated') return 'chat_not_found'
  switch (f.code) {
    case 'blocked':
      return 'bot_blocked'
    case 'kicked':
      return 'bot_kicked'
    case 'forbidden':
      return 'forbidden'
    case 'unauthorized':
      return 'token_revoked'
    case 'chat_not_found':
      return 'chat_not_found'
    default:
      return 'rejected'
  }
}

/** A failed Bot API call. Its message is always free of the bot token. */
export class TelegramError extends Error {
  constructor(readonly failure: TelegramFailure) {
    super(failure.reason)
    this.name = 'TelegramError'
  }
  get kind() {
    return this.failure.kind
  }
}

export interface TelegramClient {
  /** 'real' talks to the Bot API; 'mock' only records (shown on the status so nobody is fooled). */
  readonly mode: 'real' | 'mock'
  getMe(token: string, signal?: AbortSignal): Promise<BotInfo>
  sendMessage(token: string, msg: OutgoingMessage, signal?: AbortSignal): Promise<SentMessage>
  editMessageText(token: string, msg: OutgoingMessage & { messageId: number }, signal?: AbortSignal): Promise<void>
  /** A photo by `file_id` (one Telegram already has), with a caption and buttons. */
  sendPhoto(token: string, msg: OutgoingPhoto, signal?: AbortSignal): Promise<SentMessage>
  /** A copy of a message (text or media) from another chat, without «forwarded from». */
  copyMessage(token: string, msg: MessageCopy, signal?: AbortSignal): Promise<SentMessage>
  /** Where to download a file Telegram keeps (`getFile`; the link is valid for at least an hour). */
  getFile(token: string, fileId: string, signal?: AbortSignal): Promise<TgFile>
  /** The bytes of a file found by `getFile` (at most 20 MB, the Bot API's own limit). */
  downloadFile(token: string, filePath: string, signal?: AbortSignal): Promise<Uint8Array>
  /** The toast under a pressed button; with `url` Telegram opens it instead (a t.me/<bot>?start= link opens the bot). */
  answerCallbackQuery(token: string, callbackQueryId: string, text: string | { text?: string; url?: string }, signal?: AbortSignal): Promise<void>
  /** `allowedUpdates` defaults to ALLOWED_UPDATES (a shop's bot). */
  setWebhook(token: string, opts: { url: string; secretToken: string; allowedUpdates?: readonly string[] }, signal?: AbortSignal): Promise<void>
  deleteWebhook(token: string, signal?: AbortSignal): Promise<void>
  getUpdates(token: string, opts: { offset: number; timeoutSec: number; allowedUpdates?: readonly string[] }, signal?: AbortSignal): Promise<TgUpdate[]>
  /** The command menu Telegram shows in the bot's chats. */
  setMyCommands(token: string, commands: BotCommand[], signal?: AbortSignal): Promise<void>
  /** The menu button of one private chat: a Mini App at `url`. */
  setChatMenuButton(token: string, opts: { chatId: string; text: string; url: string }, signal?: AbortSignal): Promise<void>
  /** The bot's name, description (empty chat) and short description (profile), for every language. */
  setMyName(token: string, name: string, signal?: AbortSignal): Promise<void>
  setMyDescription(token: string, description: string, signal?: AbortSignal): Promise<void>
  setMyShortDescription(token: string, shortDescription: string, signal?: AbortSignal): Promise<void>
  /** Called with the manager bot's token: the token of a bot it manages (Bot API 9.6). */
  getManagedBotToken(managerToken: string, botId: number, signal?: AbortSignal): Promise<string>
  /** Called with the manager bot's token: revokes a managed bot's token and returns its new one. */
  replaceManagedBotToken(managerToken: string, botId: number, signal?: AbortSignal): Promise<string>
}

export type BotCommand = { command: string; description: string }
