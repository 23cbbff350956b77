import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import { errorBody } from './errors'

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time comparison (of digests, so lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}

/**
 * Who is calling. Decided once per request from the bearer credential, before routing:
 * - `operator`: ADMIN_TOKEN, every route of every shop;
 * - `api_key`: a shop's POS, its own orders and status;
 * - `owner`: a shop owner's session, its own shop except API keys and owner links;
 * - `open`: development without ADMIN_TOKEN (loopback only), every route as before.
 */
export type Principal =
  | { kind: 'operator' }
  | { kind: 'open' }
  | { kind: 'api_key'; shopId: number; keyId: number; prefix: string; name: string }
  | { kind: 'owner'; shopId: number; sessionId: number; subject: string | null; name: string | null; source: string }

/** A credential that was presented but does not work (expired, revoked, unknown): always 401. */
export type Rejection = { rejected: 'session_expired' | 'unauthorized'; message: string }

/** Looks a bearer credential up (API keys and sessions live in the database). */
export type CredentialResolver = (credential: string) => Promise<Principal | Rejection | null>

/**
 * Who may reach which route. One table for the whole API, so a reader (and the tenancy matrix test)
 * finds the answer in one place. Checked in this order; the first matching rule decides.
 *   public   — no credential needed (the page shell, docs, health, Telegram's webhook, trading a launch token)
 *   session  — only the owner session itself (ending it)
 *   operator — only ADMIN_TOKEN (API keys, owner links, metrics)
 *   pos      — the shop's API key, its owner, or the operator
 *   shop     — the shop's owner or the operator (everything else under /shops/{id}/)
 */
export type Access = 'public' | 'session' | 'operator' | 'pos' | 'shop'

type Rule = { methods: string[] | '*'; path: RegExp; access: Access }

const RULES: Rule[] = [
  { methods: ['GET', 'HEAD'], path: /^\/$/, access: 'public' },
  { methods: ['GET', 'HEAD'], path: /^\/health$/, access: 'public' },
  { methods: ['GET', 'HEAD'], path: /^\/swagger(\/.*)?$/, access: 'public' },
  { methods: ['GET', 'HEAD'], path: /^\/(assets\/.*|favicon\.(ico|svg))$/, access: 'public' },
  { methods: ['GET', 'HEAD'], path: /^\/shops\/[^/]+\/growth\/telegram\/?$/, access: 'public' },
  { methods: ['POST'], path: /^\/telegram\/webhook\/[^/]+$/, access: 'public' },
  { methods: ['POST'], path: /^\/session$/, access: 'public' },
  { methods: ['DELETE'], path: /^\/session$/, access: 'session' },
  { methods: '*', path: /^\/metrics$/, access: 'operator' },
  { methods: '*', path: /^\/shops\/[^/]+\/api-keys(\/[^/]*)?$/, access: 'operator' },
  { methods: '*', path: /^\/shops\/[^/]+\/owner-link$/, access: 'operator' },
  { methods: ['GET', 'POST'], path: /^\/shops\/[^/]+\/orders$/, access: 'pos' },
  { methods: ['PATCH'], path: /^\/shops\/[^/]+\/orders\/[^/]+$/, access: 'pos' },
  { methods: ['GET'], path: /^\/shops\/[^/]+\/telegram\/status$/, access: 'pos' },
  { methods: ['GET', 'HEAD'], path: /^\/shops\/[^/]+\/orders\/[^/]+\/photos\/[^/]+$/, access: 'pos' },
  { methods: '*', path: /^\/shops\/[^/]+(\/.*)?$/, access: 'shop' },
]

/** The access rule of a request; paths outside the table (404s) are public so strangers see the same 404. */
export function accessOf(method: string, path: string): Access {
  for (const r of RULES) if ((r.methods === '*' || r.methods.includes(method)) && r.path.test(path)) return r.access
  return 'public'
}

/** The shop id segment of a `/shops/{id}/…` path, exactly as written (compared as text). */
export function shopInPath(path: string): string | null {
  return /^\/shops\/([^/]+)/.exec(path)?.[1] ?? null
}

export type Decision = { allow: true } | { allow: false; status: 401 | 403; error: string; message: string }

const deny = (status: 401 | 403, error: string, message: string): Decision => ({ allow: false, status, error, message })
const NO_CREDENTIAL = deny(401, 'unauthorized', 'A credential is required: "Authorization: Bearer <API key, owner session or ADMIN_TOKEN>"')

/**
 * The one authorisation decision: (principal, route, shop in the path) → allow or why not.
 * A valid credential used on another shop, or on a route its kind does not reach, is 403.
 */
export function authorize(principal: Principal | null, method: string, path: string): Decision {
  const access = accessOf(method, path)
  if (access === 'public') return { allow: true }
  if (!principal) return NO_CREDENTIAL
  if (principal.kind === 'operator' || principal.kind === 'open') {
    return access === 'session' && principal.kind === 'operator' ? deny(403, 'forbidden', 'Only an owner session can end itself') : { allow: true }
  }
  if (access === 'session') return principal.kind === 'owner' ? { allow: true } : deny(403, 'forbidden', 'Only an owner session can end itself')
  if (access === 'operator') return deny(403, 'forbidden', 'This route is for the service operator only')
  if (access === 'pos' || (access === 'shop' && principal.kind === 'owner')) {
    return shopInPath(path) === String(principal.shopId) ? { allow: true } : deny(403, 'forbidden', 'This credential belongs to another shop')
  }
  return deny(403, 'forbidden', 'A shop API key reaches only the shop’s orders and status')
}

/** Who did something, as the audit trail and the page show it. */
export type Actor = { kind: Principal['kind'] | 'telegram'; id: string | null; label: string }

export function actorOf(p: Principal | undefined): Actor {
  switch (p?.kind) {
    case 'api_key':
      return { kind: 'api_key', id: String(p.keyId), label: p.name ? `API key ${p.name} (${p.prefix}…)` : `API key ${p.prefix}…` }
    case 'owner':
      return { kind: 'owner', id: p.subject, label: p.name ?? (p.subject ? `owner ${p.subject}` : 'owner') }
    case 'operator':
      return { kind: 'operator', id: null, label: 'operator' }
    default:
      return { kind: 'open', id: null, label: 'development (no auth)' }
  }
}

const principals = new WeakMap<Request, Principal>()

/** The principal the auth plugin decided for this request (routes use it for the audit trail). */
export const principalOf = (request: Request): Principal | undefined => principals.get(request)

/**
 * The auth plugin: resolves the bearer credential and applies `authorize` before routing, so an
 * unknown route under /shops answers 401 to a stranger rather than revealing what exists, and a
 * refused request never reaches validation or a handler (nothing changes).
 * Without ADMIN_TOKEN (development on loopback) a request with no credential acts as `open`; one
 * with a credential is held to it, so scoping can be tried locally.
 */
export const accessControl = (p: { adminToken: string | undefined; resolve: CredentialResolver }) =>
  new Elysia({ name: 'access-control' }).onRequest(async ({ request, set }) => {
    const path = new URL(request.url).pathname
    const header = request.headers.get('authorization')
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
    let principal: Principal | null = null
    let rejection: Rejection | null = null
    if (m) {
      const credential = m[1]!
      if (p.adminToken && safeEqual(credential, p.adminToken)) principal = { kind: 'operator' }
      else {
        const r = await p.resolve(credential)
        if (r && 'rejected' in r) rejection = r
        else principal = r
      }
    }
    if (!principal && !rejection && !p.adminToken) principal = { kind: 'open' }
    if (principal) principals.set(request, principal)
    const decision = authorize(principal, request.method, path)
    if (decision.allow) return
    set.headers['content-type'] = 'application/json; charset=utf-8'
    if (decision.status === 401) {
      set.headers['www-authenticate'] = 'Bearer'
      set.status = 401
      return rejection ? errorBody(rejection.rejected, rejection.message) : errorBody(decision.error, decision.message)
    }
    set.status = 403
    return errorBody(decision.error, decision.message)
  })
