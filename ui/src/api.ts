/**
 * The one place the page talks to the API. Every call carries the admin token from localStorage when
 * there is one; a 401 asks the owner for the token (one dialog for all calls waiting on it) and
 * repeats the call, so a wrong or changed ADMIN_TOKEN never leaves the page silently broken.
 */

export type State = 'not_connected' | 'waiting_chat' | 'active' | 'paused' | 'failing'

export type Status = {
  state: State
  mode: 'real' | 'mock'
  enabled: boolean
  botUsername: string | null
  botToken: string | null
  chatId: string | null
  chatTitle: string | null
  chatType: string | null
  botInChat: boolean | null
  lastSentAt: string | null
  sentCount: number
  failedCount: number
  lastError: string | null
  /** Machine-readable reason (bot_blocked, token_revoked, …): the advice is picked by it. */
  lastErrorCode: string | null
  lastErrorAt: string | null
  connectLink: string | null
  connectGroupLink: string | null
  webhook: boolean
  updatedAt: string | null
}

export type Integration = {
  shopId: number
  botUsername: string
  botToken: string
  chatId: string | null
  enabled: boolean
  connectLink: string | null
  connectGroupLink: string | null
}

export type Notification = {
  status: 'sent' | 'failed' | 'pending' | 'skipped'
  error: string | null
  errorCode: string | null
  sentAt: string | null
  attempts: number
  retrying: boolean
  nextAttemptAt: string | null
  updatedAt: string | null
}

export type Order = {
  id: number
  number: string
  total: string
  customerName: string
  status?: string
  acceptedBy?: string | null
  acceptedAt?: string | null
  createdAt: string
  notification: Notification
}

export type TestResult = { sent: boolean; error: string | null; mock: boolean }

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

const TOKEN_KEY = 'posiflora.adminToken'

export type TokenPrompt = (reason: 'missing' | 'wrong') => Promise<string>

let prompt: TokenPrompt | null = null
let pendingPrompt: Promise<void> | null = null

/** The page registers how to ask for the admin token (a dialog); until then a 401 is just an error. */
export function setTokenPrompt(p: TokenPrompt): void {
  prompt = p
}

/** Kept only when localStorage is unavailable (some private modes): lives as long as the page. */
let memoryToken: string | null = null

function currentToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? memoryToken
  } catch {
    return memoryToken
  }
}

function keepToken(token: string): void {
  memoryToken = token
  try {
    localStorage.setItem(TOKEN_KEY, token)
  } catch {
    // No storage: memoryToken serves until the page is closed.
  }
}

/** One prompt for every call that met a 401 at the same time; a call made with an older token just retries. */
function askForToken(usedToken: string | null): Promise<void> {
  if (currentToken() !== usedToken) return Promise.resolve()
  if (!pendingPrompt) {
    const ask = prompt!
    pendingPrompt = ask(usedToken ? 'wrong' : 'missing')
      .then(keepToken)
      .finally(() => {
        pendingPrompt = null
      })
  }
  return pendingPrompt
}

async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  for (;;) {
    const token = currentToken()
    const headers: Record<string, string> = { accept: 'application/json' }
    if (token) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    } catch {
      throw new ApiError(0, 'network', 'Нет связи с сервером: проверьте интернет и обновите страницу')
    }
    if (res.status === 401 && prompt) {
      await askForToken(token)
      continue
    }
    const text = await res.text()
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

/** The API calls of the settings page, for one shop. */
export function shopApi(shopId: string) {
  const base = `/shops/${encodeURIComponent(shopId)}`
  return {
    status: () => request<Status>('GET', `${base}/telegram/status`),
    connect: (body: { botToken?: string; chatId?: string; enabled: boolean }) => request<Integration>('POST', `${base}/telegram/connect`, body),
    test: () => request<TestResult>('POST', `${base}/telegram/test`, {}),
    newLink: () => request<Integration>('POST', `${base}/telegram/link`, {}),
    mockStart: (chatType: 'private' | 'group' = 'private') => request<{ result: string; status: Status }>('POST', `${base}/telegram/mock/start`, { chatType }),
    orders: (limit = 20) => request<{ items: Order[]; nextCursor: string | null }>('GET', `${base}/orders?limit=${limit}`),
    resend: (orderId: number) => request<{ telegramStatus: string; telegram: { error: string | null } }>('POST', `${base}/orders/${orderId}/telegram/resend`, {}),
  }
}

export type ShopApi = ReturnType<typeof shopApi>
