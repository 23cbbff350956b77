import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import { clientAddress, type ClientThrottle } from './client-throttle'
import { errorBody } from './errors'

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time comparison (of digests, so lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}

/**
 * Who is calling. Decided once per request from the bearer credential, before routing:
 * - `operator`: ADMIN_TOKEN, every route of every shop;
 * - `api_key`: a shop's POS, its own orders and status (and the platform feed of its own shop);
 * - `owner`: a shop owner's session (a platform launch, or the owner in Telegram), its own shop but
 *   API keys, owner links and the shop's provisioning;
 * - `manager`: a manager the owner allowed, from Telegram: orders and their actions, settings read-only;
 * - `open`: development without ADMIN_TOKEN (loopback only), every route as before.
 */
export type Principal =
  | { kind: 'operator' }
  | { kind: 'open' }
  | { kind: 'api_key'; shopId: number; keyId: number; prefix: string; name: string }
  | {
      kind: 'owner' | 'manager'
      shopId: number
      sessionId: number
      subject: string | null
      name: string | null
      source: string
      /** The Telegram user who opened it (Mini App), null for a platform launch. */
      tgUserId: number | null
    }

export type SessionPrincipal = Extract<Principal, { sessionId: number }>

/** A credential that was presented but does not work (expired, revoked, unknown): always 401. */
export type Rejection = { rejected: 'session_expired' | 'unauthorized'; message: string }

/** Looks a bearer credential up (API keys and sessions live in the database). */
export type CredentialResolver = (credential: string) => Promise<Principal | Rejection | null>

/** Scoped principals, as the rule table names them (the operator and open mode reach every named route). */
export type Who = 'owner' | 'manager' | 'key'

/**
 * Who may reach a route:
 *   public   — no credential needed (the page shell, docs, health, Telegram's webhooks, trading a launch token)
 *   self     — a session ending itself
 *   operator — only ADMIN_TOKEN
 *   Who[]    — the operator and these kinds, each only for its own shop when the path names one
 *              (a path without a shop, the platform feed and webhooks, is scoped by its service)
 */
export type Access = 'public' | 'self' | 'operator' | readonly Who[]

const OWNER: Who[] = ['owner']
const STAFF: Who[] = ['owner', 'manager']
const ORDERS: Who[] = ['owner', 'manager', 'key']
const PLATFORM: Who[] = ['key']

type Rule = { methods: readonly string[]; template: string; path: RegExp; access: Access }

/** `/shops/:shopId/orders` → /^\/shops\/[^/]+\/orders$/; a trailing `*` is one or more characters. */
function compile(template: string): RegExp {
  const body = template
    .split('/')
    .map((seg) => (seg === '*' ? '.+' : seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${body}$`)
}

const rule = (methods: string | string[], template: string, access: Access): Rule => ({
  methods: typeof methods === 'string' ? [methods] : methods,
  template,
  path: compile(template),
  access,
})

/**
 * Who may reach which route: one table for the whole API, so a reader (and the tenancy matrix test)
 * finds the answer in one place. Every route is named with its methods; a request no rule names is
 * denied (401 without a credential, 403 with a scoped one). GET rules cover HEAD.
 */
export const RULES: readonly Rule[] = [
  rule('GET', '/', 'public'),
  rule('GET', '/health', 'public'),
  rule('GET', '/swagger', 'public'),
  rule('GET', '/swagger/json', 'public'),
  rule('GET', '/assets/*', 'public'),
  rule('GET', '/favicon.ico', 'public'),
  rule('GET', '/favicon.svg', 'public'),
  rule('GET', '/shops/:shopId/growth/telegram', 'public'),
  rule('GET', '/shops/:shopId/growth/telegram/', 'public'),
  rule('POST', '/telegram/webhook/:webhookId', 'public'),
  rule('POST', '/telegram/manager-webhook/:webhookId', 'public'),
  rule('POST', '/session', 'public'),
  rule('DELETE', '/session', 'self'),

  rule('GET', '/metrics', 'operator'),
  rule(['POST', 'GET'], '/shops', 'operator'),
  rule(['PATCH', 'DELETE'], '/shops/:shopId', 'operator'),
  rule(['POST', 'GET'], '/shops/:shopId/api-keys', 'operator'),
  rule('DELETE', '/shops/:shopId/api-keys/:keyId', 'operator'),
  rule('POST', '/shops/:shopId/owner-link', 'operator'),

  // the platform feed and webhooks: the operator, or a shop key (its service keeps a key to its own shop)
  rule('GET', '/events', PLATFORM),
  rule(['POST', 'GET'], '/webhooks/endpoints', PLATFORM),
  rule(['GET', 'PATCH', 'DELETE'], '/webhooks/endpoints/:id', PLATFORM),
  rule('POST', '/webhooks/endpoints/:id/rotate-secret', PLATFORM),
  rule('POST', '/webhooks/endpoints/:id/test', PLATFORM),
  rule('GET', '/webhooks/endpoints/:id/deliveries', PLATFORM),
  rule('POST', '/webhooks/deliveries/:id/retry', PLATFORM),

  // orders and their actions: the POS, the owner, managers
  rule('GET', '/shops/:shopId', ORDERS),
  rule('POST', '/shops/:shopId/orders', ['owner', 'key']),
  rule('GET', '/shops/:shopId/orders', ORDERS),
  rule(['GET', 'PATCH'], '/shops/:shopId/orders/:orderId', ORDERS),
  rule('GET', '/shops/:shopId/orders/:orderId/photos/:photoId', ORDERS),
  rule('POST', '/shops/:shopId/orders/:orderId/telegram/resend', STAFF),
  rule('GET', '/shops/:shopId/telegram/status', ORDERS),
  // what a manager reads: the live page, settings and the summary preview
  rule('GET', '/shops/:shopId/events', STAFF),
  rule('GET', '/shops/:shopId/telegram/settings', STAFF),
  rule('GET', '/shops/:shopId/telegram/summary', STAFF),

  // the owner's: the bot, its links, chats and their ids, managers, sessions, settings changes, audit
  rule('PATCH', '/shops/:shopId/telegram/settings', OWNER),
  rule('POST', '/shops/:shopId/telegram/summary', OWNER),
  rule('POST', '/shops/:shopId/telegram/connect', OWNER),
  rule('POST', '/shops/:shopId/telegram/test', OWNER),
  rule('POST', '/shops/:shopId/telegram/link', OWNER),
  rule('POST', '/shops/:shopId/telegram/mock/start', OWNER),
  rule('GET', '/shops/:shopId/telegram/mock-messages', OWNER),
  rule('POST', '/shops/:shopId/telegram/managed-link', OWNER),
  rule('POST', '/shops/:shopId/telegram/rotate-token', OWNER),
  rule('POST', '/shops/:shopId/telegram/mock/managed-bot', OWNER),
  rule(['GET', 'POST'], '/shops/:shopId/telegram/chats', OWNER),
  rule(['PATCH', 'DELETE'], '/shops/:shopId/telegram/chats/:id', OWNER),
  rule('POST', '/shops/:shopId/telegram/chats/:id/test', OWNER),
  rule(['GET', 'POST'], '/shops/:shopId/telegram/managers', OWNER),
  rule('DELETE', '/shops/:shopId/telegram/managers/:telegramUserId', OWNER),
  rule('GET', '/shops/:shopId/sessions', OWNER),
  rule('DELETE', '/shops/:shopId/sessions/:sessionId', OWNER),
  rule('GET', '/shops/:shopId/audit', OWNER),
]

/** The rule naming this request, or null. The method is compared in upper case; HEAD is GET. */
export function ruleOf(method: string, path: string): Rule | null {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase()
  for (const r of RULES) if (r.methods.includes(m) && r.path.test(path)) return r
  return null
}

/** The access of a request, or null when no rule names it (denied to every scoped credential). */
export function accessOf(method: string, path: string): Access | null {
  return ruleOf(method, path)?.access ?? null
}

/**
 * A path the router would treat like another one: Elysia serves `/metrics/` as `/metrics` and
 * percent-decodes parameters (`/shops/%31` is shop 1); doubled slashes reach nothing today but are no
 * path we serve. Such a path is answered 404 before any credential is looked at, unless a rule names
 * it exactly (the page's `/growth/telegram/`), so access is always decided on the path the router matches.
 */
export function isCanonicalPath(method: string, path: string): boolean {
  if (path === '/') return true
  if (!path.startsWith('/') || path.includes('//') || path.includes('%') || path.includes('\\')) return false
  if (path.endsWith('/')) return ruleOf(method, path) !== null
  return true
}

/** The shop id segment of a `/shops/{id}/…` path, exactly as written (compared as text). */
export function shopInPath(path: string): string | null {
  return /^\/shops\/([^/]+)/.exec(path)?.[1] ?? null
}

export type Decision = { allow: true } | { allow: false; status: 401 | 403; error: string; message: string }

const ALLOW: Decision = { allow: true }
const deny = (status: 401 | 403, error: string, message: string): Decision => ({ allow: false, status, error, message })
const NO_CREDENTIAL = deny(401, 'unauthorized', 'A credential is required: "Authorization: Bearer <API key, session or ADMIN_TOKEN>"')
const NOT_FOR_KIND: Record<Who, string> = {
  key: 'A shop API key reaches only the shop’s orders, status and the platform feed',
  manager: 'A manager reaches only orders and their actions; settings are read-only',
  owner: 'This route is not for an owner session',
}

/**
 * The one authorisation decision: (principal, route, shop in the path) → allow or why not.
 * A valid credential used on another shop, or on a route its kind does not reach (or no rule names),
 * is 403; no credential is 401.
 */
export function authorize(principal: Principal | null, method: string, path: string): Decision {
  const access = accessOf(method, path)
  if (access === 'public') return ALLOW
  if (!principal) return NO_CREDENTIAL
  if (principal.kind === 'operator' || principal.kind === 'open') {
    return access === 'self' && principal.kind === 'operator' ? deny(403, 'forbidden', 'Only a session can end itself') : ALLOW
  }
  const who: Who = principal.kind === 'api_key' ? 'key' : principal.kind
  if (access === null) return deny(403, 'forbidden', 'No access rule admits this credential on this route')
  if (access === 'self') return who === 'key' ? deny(403, 'forbidden', 'Only a session can end itself') : ALLOW
  if (access === 'operator') return deny(403, 'forbidden', 'This route is for the service operator only')
  if (!access.includes(who)) return deny(403, 'forbidden', NOT_FOR_KIND[who])
  const shop = shopInPath(path)
  if (shop !== null && shop !== String(principal.shopId)) return deny(403, 'forbidden', 'This credential belongs to another shop')
  return ALLOW
}

/** Who did something, as the audit trail and the page show it. */
export type Actor = { kind: Principal['kind'] | 'telegram'; id: string | null; label: string }

export function actorOf(p: Principal | undefined): Actor {
  switch (p?.kind) {
    case 'api_key':
      // Named as people call the till («Касса 1»); the key itself stays in the audit row's actor id.
      return { kind: 'api_key', id: String(p.keyId), label: p.name || `API key ${p.prefix}…` }
    case 'owner':
      return { kind: 'owner', id: p.subject, label: p.name ?? (p.subject ? `owner ${p.subject}` : 'owner') }
    case 'manager':
      return { kind: 'manager', id: p.subject, label: p.name ? `${p.name} (менеджер)` : `менеджер ${p.subject ?? ''}`.trim() }
    case 'operator':
      return { kind: 'operator', id: null, label: 'operator' }
    default:
      return { kind: 'open', id: null, label: 'development (no auth)' }
  }
}

/** True when this principal may see start codes, connect links and chat ids (the owner and the operator). */
export const seesLinks = (p: Principal | undefined): boolean => !p || p.kind === 'owner' || p.kind === 'operator' || p.kind === 'open'

const principals = new WeakMap<Request, Principal>()

/** The principal the auth plugin decided for this request (routes use it for the audit trail). */
export const principalOf = (request: Request): Principal | undefined => principals.get(request)

const json = (set: { headers: Record<string, unknown>; status?: unknown }, status: number) => {
  set.headers['content-type'] = 'application/json; charset=utf-8'
  set.status = status
}

/**
 * The auth plugin: refuses non-canonical paths (404), resolves the bearer credential and applies
 * `authorize` before routing, so a refused request never reaches validation or a handler (nothing
 * changes). Failed credentials are counted per client address; past the budget the address gets 429
 * before anything is looked up. Without ADMIN_TOKEN (development on loopback) a request with no
 * credential acts as `open`; one with a credential is held to it, so scoping can be tried locally.
 */
export const accessControl = (p: { adminToken: string | undefined; resolve: CredentialResolver; throttle?: ClientThrottle }) =>
  new Elysia({ name: 'access-control' }).onRequest(async ({ request, set, server }) => {
    const path = new URL(request.url).pathname
    if (!isCanonicalPath(request.method, path)) {
      json(set, 404)
      return errorBody('not_found', `No route ${request.method} ${path}`)
    }
    const ip = clientAddress(server, request)
    const limited = (waitMs: number, what: string) => {
      json(set, 429)
      set.headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)))
      return errorBody('rate_limited', `Too many ${what} from this address; retry in ${Math.max(1, Math.ceil(waitMs / 1000))} s`)
    }
    if (request.method === 'POST' && path === '/session') {
      const wait = p.throttle?.openSession(ip) ?? 0
      if (wait > 0) return limited(wait, 'session attempts')
    }
    const header = request.headers.get('authorization')
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
    let principal: Principal | null = null
    let rejection: Rejection | null = null
    if (m) {
      const wait = p.throttle?.blocked(ip) ?? 0
      if (wait > 0) return limited(wait, 'failed credentials')
      const credential = m[1]!
      if (p.adminToken && safeEqual(credential, p.adminToken)) principal = { kind: 'operator' }
      else {
        const r = await p.resolve(credential)
        if (r && 'rejected' in r) rejection = r
        else principal = r
      }
      if (!principal && (rejection || p.adminToken)) p.throttle?.failed(ip)
    }
    if (!principal && !rejection && !p.adminToken) principal = { kind: 'open' }
    if (principal) principals.set(request, principal)
    const decision = authorize(principal, request.method, path)
    if (decision.allow) return
    if (decision.status === 401) {
      json(set, 401)
      set.headers['www-authenticate'] = 'Bearer'
      return rejection ? errorBody(rejection.rejected, rejection.message) : errorBody(decision.error, decision.message)
    }
    json(set, 403)
    return errorBody(decision.error, decision.message)
  })
