/**
 * A fake Telegram Bot API server for tests: grammY is pointed at it through TELEGRAM_API_ROOT, so
 * the real client code, timeouts and error parsing run. Behaviour is chosen per token (and can be
 * queued per call), every call is recorded, and updates can be delivered to a webhook the way
 * Telegram would (with the secret token header).
 */

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'error'; status: number; description: string; parameters?: Record<string, unknown> }
  | { kind: 'hang' }
  | { kind: 'slow'; ms: number }
  | { kind: 'html'; status: number }

export const B = {
  ok: { kind: 'ok' } as Behaviour,
  e500: { kind: 'error', status: 500, description: 'Internal Server Error' } as Behaviour,
  hang: { kind: 'hang' } as Behaviour,
  tooMany: (retryAfter: number): Behaviour => ({
    kind: 'error',
    status: 429,
    description: `Too Many Requests: retry after ${retryAfter}`,
    parameters: { retry_after: retryAfter },
  }),
  blocked: { kind: 'error', status: 403, description: 'Forbidden: bot was blocked by the user' } as Behaviour,
  kicked: { kind: 'error', status: 403, description: 'Forbidden: bot was kicked from the group chat' } as Behaviour,
  chatNotFound: { kind: 'error', status: 400, description: 'Bad Request: chat not found' } as Behaviour,
  migrate: (to: number): Behaviour => ({
    kind: 'error',
    status: 400,
    description: 'Bad Request: group chat was upgraded to a supergroup chat',
    parameters: { migrate_to_chat_id: to },
  }),
  unauthorized: { kind: 'error', status: 401, description: 'Unauthorized' } as Behaviour,
  notModified: {
    kind: 'error',
    status: 400,
    description:
      'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
  } as Behaviour,
  messageGone: { kind: 'error', status: 400, description: 'Bad Request: message to edit not found' } as Behaviour,
  conflict: {
    kind: 'error',
    status: 409,
    description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
  } as Behaviour,
}

/** One request to the fake; `result` is what it answered when the call succeeded (e.g. the message id). */
export type Call = { token: string; method: string; payload: Record<string, unknown>; at: number; result?: unknown }

/** A token shaped like a real one, unique per call site. */
let seq = 0
export function makeToken(label = 'T'): string {
  seq++
  const id = 700000000 + seq * 17 + Math.floor(Math.random() * 10)
  const secret = `AA${label}${'x'.repeat(30)}${seq}`
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 35)
    .padEnd(35, 'z')
  return `${id}:${secret}`
}

/**
 * Options for large runs (benchmarks); the defaults keep the behaviour the tests rely on.
 * - `record: false` keeps `calls` empty (it grows without bound otherwise); `counts` still counts.
 * - `onCall` sees every call (after pacing is decided: `limited` tells whether it got a 429).
 * - `limits` makes sendMessage/editMessageText answer 429 like Telegram when a bot sends more than
 *   `perBotPerSec` in the last second or a chat gets one within `1000 / perChatPerSec` ms of the last
 *   (with `retry_after: retryAfterSec`). With `perGroupPerMin` a group (negative chat id) also gets a
 *   429 once it has accepted that many in the last 60 s; its `retry_after` is then the whole seconds
 *   until the oldest of them leaves the window (at least `retryAfterSec`), as Telegram answers.
 *   Accepted calls count; 429s do not.
 */
export type FakeTelegramOptions = {
  record?: boolean
  onCall?: (call: Call, limited: boolean) => void
  limits?: { perBotPerSec?: number; perChatPerSec?: number; perGroupPerMin?: number; retryAfterSec?: number }
}

export class FakeTelegram {
  readonly calls: Call[] = []
  /** Calls per method (always counted, also with `record: false`), and 429s given by `limits`. */
  readonly counts = new Map<string, number>()
  limited = 0
  private readonly botWindow = new Map<string, number[]>()
  private readonly chatLast = new Map<string, number>()
  private readonly groupWindow = new Map<string, number[]>()
  private readonly behaviours = new Map<string, Behaviour>()
  private readonly queued = new Map<string, Behaviour[]>()
  private readonly methodBehaviours = new Map<string, Behaviour>()
  private readonly chatBehaviours = new Map<string, Behaviour>()
  private readonly updates = new Map<string, Record<string, unknown>[]>()
  readonly webhooks = new Map<string, { url: string; secret: string }>()
  private readonly hanging = new Set<() => void>()
  private messageId = 1000
  /** Bots created through a manager bot (Bot API 9.6), by bot id; tokens replaced since are refused. */
  readonly managedBots = new Map<number, { managerToken: string; creatorId: number; username: string; name: string; token: string }>()
  private readonly revokedTokens = new Set<string>()
  /** Bots with bot management mode switched on in @BotFather (getMe: `can_manage_bots`). */
  private readonly managers = new Set<string>()
  private managedSeq = 0
  private updateSeq = 900_000
  private server: ReturnType<typeof Bun.serve>

  constructor(private readonly options: FakeTelegramOptions = {}) {
    this.server = Bun.serve({ port: 0, hostname: '127.0.0.1', idleTimeout: 60, fetch: (req) => this.handle(req) })
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`
  }

  /** Every call of this token behaves so (until changed). */
  behave(token: string, b: Behaviour): void {
    this.behaviours.set(token, b)
  }
  /** The next calls of this token (other than getUpdates) behave so, one each, then the standing behaviour resumes. */
  queue(token: string, ...bs: Behaviour[]): void {
    this.queued.set(token, [...(this.queued.get(token) ?? []), ...bs])
  }
  /** Overrides one method for one token (e.g. getMe ok, sendMessage blocked). */
  behaveMethod(token: string, method: string, b: Behaviour): void {
    this.methodBehaviours.set(`${token}/${method}`, b)
  }
  /** Every send/edit of this token to one chat behaves so (e.g. one recipient blocked the bot). */
  behaveChat(token: string, chatId: string, b: Behaviour): void {
    this.chatBehaviours.set(`${token}/chat/${chatId}`, b)
  }
  pushUpdate(token: string, update: Record<string, unknown>): void {
    this.updates.set(token, [...(this.updates.get(token) ?? []), update])
  }

  /** Switches bot management mode on (or off) for a bot, as its owner would in the @BotFather Mini App. */
  enableBotManagement(token: string, on = true): void {
    if (on) this.managers.add(token)
    else this.managers.delete(token)
  }

  /**
   * Plays a person creating a bot through the manager bot's `request_managed_bot` button: Telegram
   * registers the bot (with its own token) and tells the manager bot with a `managed_bot` update, which
   * is returned for the test to `send`.
   */
  createManagedBot(managerToken: string, creator: { id: number; first_name: string }, bot: { username: string; name?: string }) {
    const botId = 8_100_000_000 + ++this.managedSeq * 101 + Math.floor(Math.random() * 100)
    const token = `${botId}:AAmanaged${String(this.managedSeq).padStart(4, '0')}${'m'.repeat(26)}`
    const name = bot.name ?? bot.username
    this.managedBots.set(botId, { managerToken, creatorId: creator.id, username: bot.username, name, token })
    const update = {
      update_id: ++this.updateSeq,
      managed_bot: { user: { is_bot: false, ...creator }, bot: { id: botId, is_bot: true, first_name: name, username: bot.username } },
    }
    return { botId, token, update }
  }

  /** The current token of a managed bot (after rotations). */
  managedToken(botId: number): string {
    return this.managedBots.get(botId)!.token
  }

  /** Hands an update to the bot as Telegram would: to its webhook when one is set, else to its getUpdates queue. */
  async send(token: string, update: Record<string, unknown>): Promise<'webhook' | 'queued'> {
    if (this.webhooks.has(token)) {
      const res = await this.deliver(token, update)
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`)
      return 'webhook'
    }
    this.pushUpdate(token, update)
    return 'queued'
  }

  /** A private message from `from` to the bot (e.g. `/start <code>`), with a fresh update id. */
  message(from: { id: number; first_name: string }, text: string) {
    const id = ++this.updateSeq
    return {
      update_id: id,
      message: {
        message_id: id,
        date: Math.floor(Date.now() / 1000),
        chat: { id: from.id, type: 'private', first_name: from.first_name },
        from: { is_bot: false, ...from },
        text,
      },
    }
  }

  sent(token?: string): Call[] {
    return this.calls.filter((c) => c.method === 'sendMessage' && (!token || c.token === token))
  }
  callsOf(method: string, token?: string): Call[] {
    return this.calls.filter((c) => c.method === method && (!token || c.token === token))
  }

  /** Delivers an update to the webhook registered for `token`, as Telegram does. */
  async deliver(token: string, update: Record<string, unknown>, secretOverride?: string): Promise<Response> {
    const hook = this.webhooks.get(token)
    if (!hook) throw new Error('no webhook set for this token')
    return fetch(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secretOverride ?? hook.secret },
      body: JSON.stringify(update),
    })
  }

  private behaviourFor(token: string, method: string, payload: Record<string, unknown>): Behaviour {
    const q = this.queued.get(token)
    if (q?.length) return q.shift()!
    const perChat = payload.chat_id !== undefined ? this.chatBehaviours.get(`${token}/chat/${String(payload.chat_id)}`) : undefined
    if (perChat) return perChat
    return this.methodBehaviours.get(`${token}/${method}`) ?? this.behaviours.get(token) ?? B.ok
  }

  /** Files the fake keeps for `getFile` and downloads (`/file/bot<token>/<path>`), by file_id. */
  readonly files = new Map<string, { path: string; bytes: Uint8Array }>()
  /** Puts a file where Telegram would keep it (a photo a user sent): `getFile` finds it, the download serves it. */
  addFile(fileId: string, bytes: Uint8Array, path = `photos/${fileId}.jpg`): void {
    this.files.set(fileId, { path, bytes })
  }

  private async handle(req: Request): Promise<Response> {
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(new URL(req.url).pathname)
    if (file) {
      const path = decodeURIComponent(file[2]!)
      const f = [...this.files.values()].find((x) => x.path === path)
      const call: Call = { token: decodeURIComponent(file[1]!), method: 'downloadFile', payload: { path }, at: Date.now() }
      if (this.options.record !== false) this.calls.push(call)
      return f ? new Response(Buffer.from(f.bytes), { headers: { 'content-type': 'application/octet-stream' } }) : new Response('Not Found', { status: 404 })
    }
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url).pathname)
    if (!m) return Response.json({ ok: false, error_code: 404, description: 'Not Found' }, { status: 404 })
    const token = decodeURIComponent(m[1]!)
    const method = m[2]!
    const text = await req.text()
    const payload = text ? (JSON.parse(text) as Record<string, unknown>) : {}
    const call: Call = { token, method, payload, at: Date.now() }
    if (this.options.record !== false) this.calls.push(call)
    this.counts.set(method, (this.counts.get(method) ?? 0) + 1)
    const limit = this.overLimit(call)
    const limited = limit !== false
    this.options.onCall?.(call, limited)
    if (limited) {
      this.limited++
      const retryAfter = limit
      return Response.json(
        { ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } },
        { status: 429 },
      )
    }
    if (this.revokedTokens.has(token)) return Response.json({ ok: false, error_code: 401, description: 'Unauthorized' }, { status: 401 })
    const refusal = this.managedRefusal(token, method, payload)
    if (refusal) return Response.json({ ok: false, error_code: 400, description: refusal }, { status: 400 })
    // Polling runs in the background: it neither consumes queued behaviours nor takes the token-wide one.
    const b = method === 'getUpdates' ? (this.methodBehaviours.get(`${token}/getUpdates`) ?? B.ok) : this.behaviourFor(token, method, payload)
    if (b.kind === 'hang') {
      await new Promise<void>((resolve) => {
        this.hanging.add(resolve)
        setTimeout(resolve, 30_000)
      })
      return Response.json({ ok: false, error_code: 504, description: 'hung' }, { status: 504 })
    }
    if (b.kind === 'slow') await Bun.sleep(b.ms)
    if (b.kind === 'html') return new Response('<html><body>Bad Gateway</body></html>', { status: b.status, headers: { 'content-type': 'text/html' } })
    if (b.kind === 'error')
      return Response.json({ ok: false, error_code: b.status, description: b.description, parameters: b.parameters }, { status: b.status })
    if (method === 'getFile' && !this.files.has(String(payload.file_id)))
      return Response.json({ ok: false, error_code: 400, description: 'Bad Request: invalid file_id' }, { status: 400 })
    call.result = this.result(token, method, payload)
    return Response.json({ ok: true, result: call.result })
  }

  /** Telegram-like pacing of sends (only with `limits`): false, or the `retry_after` (s) of the 429 this call gets. */
  private overLimit(c: Call): number | false {
    const l = this.options.limits
    if (!l || (c.method !== 'sendMessage' && c.method !== 'editMessageText')) return false
    const retryAfter = l.retryAfterSec ?? 1
    const w = (this.botWindow.get(c.token) ?? []).filter((t) => c.at - t < 1000)
    this.botWindow.set(c.token, w)
    if (l.perBotPerSec && w.length >= l.perBotPerSec) return retryAfter
    const key = `${c.token}/${String(c.payload.chat_id)}`
    const last = this.chatLast.get(key)
    if (l.perChatPerSec && last !== undefined && c.at - last < 1000 / l.perChatPerSec) return retryAfter
    let g: number[] | undefined
    if (l.perGroupPerMin && String(c.payload.chat_id).startsWith('-')) {
      g = (this.groupWindow.get(key) ?? []).filter((t) => c.at - t < 60_000)
      this.groupWindow.set(key, g)
      if (g.length >= l.perGroupPerMin) return Math.max(retryAfter, Math.ceil((g[g.length - l.perGroupPerMin]! + 60_000 - c.at) / 1000))
    }
    w.push(c.at)
    g?.push(c.at)
    this.chatLast.set(key, c.at)
    return false
  }

  /** Telegram refuses the manager methods for a bot this manager does not manage. */
  private managedRefusal(token: string, method: string, p: Record<string, unknown>): string | null {
    if (method !== 'getManagedBotToken' && method !== 'replaceManagedBotToken') return null
    const bot = this.managedBots.get(Number(p.user_id))
    return bot && bot.managerToken === token ? null : 'Bad Request: bot not found'
  }

  private result(token: string, method: string, p: Record<string, unknown>): unknown {
    const botId = Number(token.split(':')[0])
    const managed = this.managedBots.get(botId)
    switch (method) {
      case 'getMe':
        if (managed) return { id: botId, is_bot: true, first_name: managed.name, username: managed.username, can_manage_bots: false }
        return { id: botId, is_bot: true, first_name: 'Shop bot', username: `shop${botId}_bot`, can_manage_bots: this.managers.has(token) }
      case 'getManagedBotToken':
        return this.managedBots.get(Number(p.user_id))!.token
      case 'replaceManagedBotToken': {
        const bot = this.managedBots.get(Number(p.user_id))!
        this.revokedTokens.add(bot.token)
        // the webhook belongs to the bot, not to the token: it stays
        const hook = this.webhooks.get(bot.token)
        bot.token = `${p.user_id}:AArotated${crypto.randomUUID().replaceAll('-', '').slice(0, 26)}`
        if (hook) this.webhooks.set(bot.token, hook)
        return bot.token
      }
      case 'setMyName':
        if (managed) managed.name = String(p.name)
        return true
      case 'sendMessage': {
        const chatId = p.chat_id
        const numeric = typeof chatId === 'string' && /^-?\d+$/.test(chatId) ? Number(chatId) : chatId
        return { message_id: this.messageId++, date: Math.floor(Date.now() / 1000), chat: { id: numeric, type: 'private' }, text: p.text }
      }
      case 'sendPhoto': {
        const numeric = typeof p.chat_id === 'string' && /^-?\d+$/.test(p.chat_id) ? Number(p.chat_id) : p.chat_id
        const photo = [{ file_id: String(p.photo), file_unique_id: `u${String(p.photo)}`, width: 800, height: 800 }]
        return { message_id: this.messageId++, date: Math.floor(Date.now() / 1000), chat: { id: numeric, type: 'private' }, photo, caption: p.caption }
      }
      case 'copyMessage':
        return { message_id: this.messageId++ }
      case 'getFile': {
        const f = this.files.get(String(p.file_id))!
        return { file_id: p.file_id, file_unique_id: `u${String(p.file_id)}`, file_size: f.bytes.length, file_path: f.path }
      }
      case 'editMessageText':
        return { message_id: p.message_id, date: Math.floor(Date.now() / 1000), chat: { id: p.chat_id, type: 'private' }, text: p.text }
      case 'setWebhook':
        this.webhooks.set(token, { url: String(p.url), secret: String(p.secret_token) })
        return true
      case 'deleteWebhook':
        this.webhooks.delete(token)
        return true
      case 'getUpdates': {
        const offset = Number(p.offset ?? 0)
        const list = (this.updates.get(token) ?? []).filter((u) => Number(u.update_id) >= offset)
        this.updates.set(token, list)
        return list
      }
      default:
        return true
    }
  }

  releaseHanging(): void {
    for (const r of this.hanging) r()
    this.hanging.clear()
  }

  stop(): void {
    this.releaseHanging()
    this.server.stop(true)
  }
}
