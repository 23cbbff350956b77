/**
 * The one place the page talks to the API. Every call carries the owner session (or an operator's
 * ADMIN_TOKEN); a 401 asks for a credential (one dialog for all calls waiting on it) and repeats the
 * call, so an expired session or a wrong token never leaves the page silently broken.
 */

// The page's types are the API's own (type-only imports: nothing of the server is bundled), so the two
// cannot drift apart.
type ApiStatus = import('../../api/src/connect/schema').Status
type ApiIntegration = import('zod').infer<typeof import('../../api/src/connect/schema').IntegrationSchema>
type ApiOrderList = import('zod').infer<typeof import('../../api/src/orders/schema').OrderListResponse>

export type State = ApiStatus['state']
export type Status = ApiStatus
export type Integration = ApiIntegration
export type Order = ApiOrderList['items'][number]
export type Notification = Order['notification']
/** The machine-readable reason of a failure, as the server classifies it (bot-api/client.ts). */
export type ErrorCode = import('../../api/src/bot-api/client').ErrorCode

export type TestResult = { sent: boolean; error: string | null; mock: boolean }

/** A chat the shop's bot writes to; the shape is the API's own (connect/schema.ts). */
export type Recipient = import('../../api/src/connect/schema').Recipient
export type RecipientEvent = Recipient['events'][number]
export type RecipientChange = {
  events?: RecipientEvent[]
  quietHours?: { from: string; to: string } | null
  enabled?: boolean
  threadId?: number | null
  role?: Recipient['role']
}

/** The shop's day (time zone, reminder lead, summary time) and a summary preview: connect/settings.ts. */
export type ShopSettings = import('../../api/src/connect/settings').ShopSettings
export type SummaryPreview = import('zod').infer<typeof import('../../api/src/connect/settings').SummaryPreviewSchema>

/** Who may open the page inside Telegram besides the owner, and who asked to (access/routes.ts). */
export type Managers = {
  items: { telegramUserId: number; name: string | null; addedBy: string; createdAt: string }[]
  requests: { telegramUserId: number; name: string; requestedAt: string }[]
}

/** `GET /shops/{shopId}`: the shop as the platform named it. */
export type Shop = { id: number; name: string; externalId?: string | null; timeZone?: string }

/** A link to the manager bot with a one-time code: opening it starts creating the shop's bot. */
export type ManagedLink = { url: string; expiresAt: string }

export type FieldIssue = { path: string; message: string }

/** An answer in the API's error shape `{error, message, details?}`, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldIssue[] = [],
  ) {
    super(message)
    this.name = 'ApiError'
  }

  /** The API's message for one body field (`botToken`, `chatId`), if it named that field. */
  field(name: string): string | null {
    return this.details.find((d) => d.path === name)?.message ?? null
  }
}

/**
 * Credentials. An owner arrives with a platform-signed launch token in the URL fragment
 * (`#launch=<jwt>`; fragments never reach a server log) and trades it once for an owner session,
 * kept in sessionStorage for this tab so a reload keeps working for the session's life. Never
 * localStorage: nothing outlives the tab, and a shared shop PC keeps no credential. An operator may
 * type ADMIN_TOKEN instead; that stays in memory only (gone on reload).
 */
export type AuthReason = 'missing' | 'wrong' | 'expired'
export type TokenPrompt = (reason: AuthReason) => Promise<string>

let prompt: TokenPrompt | null = null
let pendingPrompt: Promise<void> | null = null
let sessionShop: string | null = null
let memorySession: string | null = null
let operatorToken: string | null = null

const sessionKey = (shopId: string) => `posiflora.session.${shopId}`

/** The page registers how to ask for a credential (a dialog); until then a 401 is just an error. */
export function setTokenPrompt(p: TokenPrompt): void {
  prompt = p
}

function currentSession(): string | null {
  if (!sessionShop) return null
  try {
    return sessionStorage.getItem(sessionKey(sessionShop)) ?? memorySession
  } catch {
    return memorySession // storage blocked (a third-party iframe with strict settings): this page view only
  }
}

let memoryRole: 'owner' | 'manager' | null = null

const safeGet = (k: string): string | null => {
  try {
    return sessionStorage.getItem(k)
  } catch {
    return null
  }
}
const safeSet = (k: string, v: string | null): void => {
  try {
    if (v === null) sessionStorage.removeItem(k)
    else sessionStorage.setItem(k, v)
  } catch {}
}

function keepSession(shopId: string, token: string | null, role: 'owner' | 'manager' = 'owner'): void {
  memorySession = token
  memoryRole = token ? role : null
  try {
    if (token) {
      sessionStorage.removeItem(`${sessionKey(shopId)}.expired`)
      sessionStorage.setItem(sessionKey(shopId), token)
      sessionStorage.setItem(`${sessionKey(shopId)}.role`, role)
    } else sessionStorage.removeItem(sessionKey(shopId))
  } catch {
    // memorySession serves until the page is closed
  }
}

/**
 * `manager` when this page runs on a manager's session (a manager the owner allowed, from Telegram):
 * the page then shows orders and the status only, as the API lets a manager see no more.
 */
export function sessionRole(): 'owner' | 'manager' | null {
  if (operatorToken || !currentSession() || !sessionShop) return null
  try {
    return (sessionStorage.getItem(`${sessionKey(sessionShop)}.role`) as 'owner' | 'manager' | null) ?? memoryRole
  } catch {
    return memoryRole
  }
}

function currentToken(): string | null {
  return operatorToken ?? currentSession()
}

/**
 * Called once before the first API call: trades a `#launch=` token from the URL for an owner session
 * and removes it from the address bar (it is single use anyway). Returns why it failed, if it did.
 */
export async function startSession(shopId: string): Promise<ApiError | null> {
  sessionShop = shopId
  const m = /(?:^#|&)launch=([^&]+)/.exec(location.hash)
  if (!m) return null
  history.replaceState(null, '', location.pathname + location.search)
  try {
    const s = await request<{ token: string; shopId: number; expiresAt: string }>('POST', '/session', { launch: decodeURIComponent(m[1]!) }, { noAuth: true })
    if (String(s.shopId) !== shopId) return new ApiError(403, 'forbidden', 'Ссылка открыта для другого магазина')
    keepSession(shopId, s.token)
    return null
  } catch (err) {
    return err instanceof ApiError ? err : new ApiError(0, 'network', String(err))
  }
}

/**
 * Inside Telegram: the Mini App's signed `initData` is traded for the same owner session (the shop's
 * owner in Telegram or a manager the owner allowed). Returns why it failed, if it did.
 */
export async function startTelegramSession(shopId: string, initData: string): Promise<ApiError | null> {
  sessionShop = shopId
  if (currentSession()) return null
  try {
    const s = await request<{ token: string; shopId: number; expiresAt: string; role?: 'owner' | 'manager' }>(
      'POST',
      '/session',
      { shopId: Number(shopId), initData },
      { noAuth: true },
    )
    keepSession(shopId, s.token, s.role ?? 'owner')
    return null
  } catch (err) {
    return err instanceof ApiError ? err : new ApiError(0, 'network', String(err))
  }
}

export type LiveEvent = { event: string; data: unknown }

/**
 * The shop's live stream (server-sent events), read with fetch so it carries the credential in a
 * header (EventSource cannot). Resolves when the stream ends; throws ApiError when it cannot open.
 */
export async function readLive(shopId: string, on: { open: () => void; event: (e: LiveEvent) => void }, signal: AbortSignal): Promise<void> {
  const token = currentToken()
  const res = await fetch(`/shops/${encodeURIComponent(shopId)}/events`, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal,
  }).catch(() => {
    throw new ApiError(0, 'network', 'Нет связи с сервером')
  })
  if (!res.ok || !res.body) {
    const e = (await res.json().catch(() => ({}))) as { error?: string; message?: string }
    throw new ApiError(res.status, e.error ?? `http_${res.status}`, e.message ?? `Сервер ответил ${res.status}`)
  }
  on.open()
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buf += decoder.decode(value, { stream: true })
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event) on.event({ event, data: data ? JSON.parse(data) : null })
      }
    }
  } catch {
    // the connection broke: the caller reconnects
  } finally {
    reader.cancel().catch(() => {})
  }
}

/** Ends the owner session on the server and forgets it here. */
export async function endSession(): Promise<void> {
  if (currentSession()) await request('DELETE', '/session').catch(() => undefined)
  if (sessionShop) keepSession(sessionShop, null)
}

/** One prompt for every call that met a 401 at the same time; a call made with an older credential just retries. */
function askForToken(usedToken: string | null, code: string): Promise<void> {
  if (currentToken() !== usedToken) return Promise.resolve()
  if (!pendingPrompt) {
    const ask = prompt!
    // a session seen to expire is remembered for the tab, so a reload still says «expired», not «missing»
    const expiredBefore = !usedToken && !!sessionShop && safeGet(`${sessionKey(sessionShop)}.expired`) === '1'
    const reason: AuthReason = code === 'session_expired' || expiredBefore ? 'expired' : usedToken ? 'wrong' : 'missing'
    if (reason === 'expired' && sessionShop) {
      keepSession(sessionShop, null)
      safeSet(`${sessionKey(sessionShop)}.expired`, '1')
    }
    pendingPrompt = ask(reason)
      .then((token) => {
        operatorToken = token
      })
      .finally(() => {
        pendingPrompt = null
      })
  }
  return pendingPrompt
}

async function request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, opts: { noAuth?: boolean } = {}): Promise<T> {
  for (;;) {
    const token = opts.noAuth ? null : currentToken()
    const headers: Record<string, string> = { accept: 'application/json' }
    if (token) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    } catch {
      throw new ApiError(0, 'network', 'Нет связи с сервером: проверьте интернет и обновите страницу')
    }
    const text = await res.text()
    if (res.status === 401 && prompt && !opts.noAuth) {
      let code = ''
      try {
        code = (JSON.parse(text) as { error?: string }).error ?? ''
      } catch {}
      await askForToken(token, code)
      continue
    }
    let json: unknown = null
    try {
      json = text ? JSON.parse(text) : null
    } catch {
      json = null
    }
    if (!res.ok) {
      const e = (json ?? {}) as { error?: string; message?: string; details?: unknown }
      const details = Array.isArray(e.details) ? (e.details as FieldIssue[]).filter((d) => d && typeof d.path === 'string') : []
      throw new ApiError(res.status, e.error ?? `http_${res.status}`, e.message ?? `Сервер ответил ${res.status}`, details)
    }
    return json as T
  }
}

/**
 * An order's photo as an object URL: the image route needs the page's credential, which an `<img src>`
 * cannot send, so the bytes are fetched here and shown from memory.
 */
export async function photoObjectUrl(path: string): Promise<string> {
  const token = currentToken()
  const res = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, `Сервер ответил ${res.status}`)
  return URL.createObjectURL(await res.blob())
}

/** The API calls of the settings page, for one shop. */
export function shopApi(shopId: string) {
  const base = `/shops/${encodeURIComponent(shopId)}`
  return {
    status: () => request<Status>('GET', `${base}/telegram/status`),
    /** The shop itself (its name for the header); older servers without the route answer 404. */
    shop: () => request<Shop>('GET', base),
    /** A one-tap link to the platform's manager bot, which creates the shop's bot (managed bots). */
    managedLink: () => request<ManagedLink>('POST', `${base}/telegram/managed-link`, {}),
    /** A bot the manager bot created: Telegram issues it a new token (the old one stops working). */
    rotateToken: () => request<{ botUsername: string; rotatedAt: string }>('POST', `${base}/telegram/rotate-token`, {}),
    /** Demo only (TELEGRAM_MODE=mock): plays Telegram's part of creating the bot from the latest managed link. */
    mockManagedBot: () => request<{ status: Status }>('POST', `${base}/telegram/mock/managed-bot`, {}),
    connect: (body: { botToken?: string; chatId?: string; enabled: boolean }) => request<Integration>('POST', `${base}/telegram/connect`, body),
    test: () => request<TestResult>('POST', `${base}/telegram/test`, {}),
    newLink: () => request<Integration>('POST', `${base}/telegram/link`, {}),
    mockStart: (chatType: 'private' | 'group' = 'private') => request<{ result: string; status: Status }>('POST', `${base}/telegram/mock/start`, { chatType }),
    orders: (limit = 20) => request<{ items: Order[]; nextCursor: string | null }>('GET', `${base}/orders?limit=${limit}`),
    chats: () => request<{ items: Recipient[] }>('GET', `${base}/telegram/chats`),
    changeChat: (id: number, change: RecipientChange) => request<Recipient>('PATCH', `${base}/telegram/chats/${id}`, change),
    removeChat: (id: number) => request<null>('DELETE', `${base}/telegram/chats/${id}`),
    testChat: (id: number) => request<TestResult & { errorCode: string | null }>('POST', `${base}/telegram/chats/${id}/test`, {}),
    managers: () => request<Managers>('GET', `${base}/telegram/managers`),
    allowManager: (telegramUserId: number, name?: string) =>
      request<{ items: Managers['items'] }>('POST', `${base}/telegram/managers`, { telegramUserId, ...(name ? { name } : {}) }),
    removeManager: (telegramUserId: number) => request<null>('DELETE', `${base}/telegram/managers/${telegramUserId}`),
    settings: () => request<ShopSettings>('GET', `${base}/telegram/settings`),
    changeSettings: (change: Partial<ShopSettings>) => request<ShopSettings>('PATCH', `${base}/telegram/settings`, change),
    summaryPreview: () => request<SummaryPreview>('GET', `${base}/telegram/summary`),
    sendSummary: () => request<{ sent: number; failed: number; deliveries: number }>('POST', `${base}/telegram/summary`, {}),
    resend: (orderId: number) =>
      request<{ telegramStatus: string; telegram: { error: string | null } }>('POST', `${base}/orders/${orderId}/telegram/resend`, {}),
  }
}

export type ShopApi = ReturnType<typeof shopApi>

/**
 * The API speaks English to integrators; the page speaks Russian to the owner, chosen by the error's
 * machine code (and field), never by parsing the English text.
 */
const FIELD_TEXT: Record<string, string> = {
  botToken: 'Токен должен выглядеть как 123456789:AA… (его выдаёт @BotFather)',
  chatId: 'Номер чата — целое число (у групп отрицательное) или @username канала',
}
const CODE_TEXT: Record<string, string> = {
  network: 'Нет связи с сервером: проверьте интернет и обновите страницу',
  token_rejected: 'Telegram не принял токен: проверьте его в @BotFather (возможно, токен отозван или скопирован не полностью)',
  telegram_rejected: 'Telegram отклонил запрос',
  telegram_unavailable: 'Telegram сейчас недоступен: токен не проверен и не сохранён, попробуйте ещё раз',
  token_required: 'Укажите токен бота от @BotFather',
  not_connected: 'Сначала подключите бота',
  no_chat: 'Сначала подключите чат',
  rate_limited: 'Слишком часто: подождите несколько секунд и попробуйте снова',
  invalid_transition: 'Заказ уже в другом статусе',
  already_sent: 'Уведомление уже отправлено',
  forbidden: 'Нет доступа к этому магазину',
  database_unavailable: 'Сервис временно недоступен, попробуйте через минуту',
}

/** The owner-facing text of a field's error: ours for malformed input, Telegram's own reason otherwise. */
export function fieldMessage(e: ApiError, field: string): string | null {
  const api = e.field(field)
  if (!api) return null
  return e.code === 'validation_failed' || e.code === 'token_required' ? (FIELD_TEXT[field] ?? api) : api
}

/** The owner-facing text of any failure. */
export function userMessage(err: unknown): string {
  if (!(err instanceof ApiError)) return String(err)
  return CODE_TEXT[err.code] ?? (err.status >= 500 ? 'Что-то пошло не так на нашей стороне, попробуйте ещё раз' : `Не получилось (${err.code})`)
}
