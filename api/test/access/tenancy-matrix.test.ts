import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { signLaunchToken } from '../../src/access'
import { hashCredential } from '../../src/access/credentials'
import { type Access, accessOf, isCanonicalPath, type Who } from '../../src/platform/http/auth'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'
import { telegramInitData } from '../mini-app'

/**
 * The tenancy matrix: every route × every kind of credential × own shop / other shop, and every route
 * again on the path variants a router might also serve (trailing slash, doubled slash, upper case).
 * Refused requests answer 401/403 (404 for a variant) and change nothing in the database; allowed ones
 * reach the route. What each route admits is written here, independently of the rule table, and the
 * two are compared.
 */
const ADMIN = 'operator-secret-token-0123456789abcdef'
const PLATFORM_SECRET = 'p'.repeat(40)
const MANAGER = makeToken('manager')
const OWN = 1
let OTHER = 0
/** Each row's recipient gets its own chat id (random ones collided now and then: a flaky unique violation). */
let chatSeq = 0
let tgSeq = 0

type Cred = 'none' | 'operator' | 'owner' | 'manager' | 'removedManager' | 'ownKey' | 'otherOwner' | 'otherKey' | 'expiredSession' | 'revokedKey'
const CREDS: Cred[] = ['none', 'operator', 'owner', 'manager', 'removedManager', 'ownKey', 'otherOwner', 'otherKey', 'expiredSession', 'revokedKey']

type Ids = { shop: number; orderId: number; keyId: number; webhookId: string; recipientId: number; sessionId: number }
/** `who`: what the route admits besides the operator (see auth.ts). `pending`: served once main's routes are merged. */
type Sample = { method: string; route: string; who: Access; path: (ids: Ids) => string; body?: (ids: Ids) => unknown; pending?: true }

const OWNER: Who[] = ['owner']
const STAFF: Who[] = ['owner', 'manager']
const ORDERS: Who[] = ['owner', 'manager', 'key']
const KEY: Who[] = ['key']

/** One request per route, with a body the route accepts, so an allowed request reaches its handler. */
const SAMPLES: Sample[] = [
  { method: 'GET', route: '/swagger', who: 'public', path: () => '/swagger' },
  { method: 'GET', route: '/swagger/json', who: 'public', path: () => '/swagger/json' },
  { method: 'GET', route: '/health', who: 'public', path: () => '/health' },
  { method: 'GET', route: '/metrics', who: 'operator', path: () => '/metrics' },
  { method: 'GET', route: '/', who: 'public', path: () => '/' },
  { method: 'GET', route: '/shops/:shopId/growth/telegram', who: 'public', path: (i) => `/shops/${i.shop}/growth/telegram` },
  { method: 'GET', route: '/shops/:shopId/growth/telegram/', who: 'public', path: (i) => `/shops/${i.shop}/growth/telegram/` },
  { method: 'GET', route: '/assets/*', who: 'public', path: () => '/assets/none.js' },
  { method: 'GET', route: '/favicon.svg', who: 'public', path: () => '/favicon.svg' },
  { method: 'GET', route: '/favicon.ico', who: 'public', path: () => '/favicon.ico' },
  { method: 'POST', route: '/telegram/webhook/:webhookId', who: 'public', path: (i) => `/telegram/webhook/${i.webhookId}`, body: () => ({ update_id: 1 }) },
  { method: 'POST', route: '/session', who: 'public', path: () => '/session', body: () => ({ launch: 'not-a-jwt' }) },
  { method: 'DELETE', route: '/session', who: 'self', path: () => '/session' },
  { method: 'POST', route: '/shops/:shopId/api-keys', who: 'operator', path: (i) => `/shops/${i.shop}/api-keys`, body: () => ({ name: 'kassa' }) },
  { method: 'GET', route: '/shops/:shopId/api-keys', who: 'operator', path: (i) => `/shops/${i.shop}/api-keys` },
  { method: 'DELETE', route: '/shops/:shopId/api-keys/:keyId', who: 'operator', path: (i) => `/shops/${i.shop}/api-keys/${i.keyId}` },
  { method: 'POST', route: '/shops/:shopId/owner-link', who: 'operator', path: (i) => `/shops/${i.shop}/owner-link` },
  { method: 'GET', route: '/shops/:shopId/audit', who: OWNER, path: (i) => `/shops/${i.shop}/audit` },
  { method: 'GET', route: '/shops/:shopId/sessions', who: OWNER, path: (i) => `/shops/${i.shop}/sessions` },
  { method: 'DELETE', route: '/shops/:shopId/sessions/:sessionId', who: OWNER, path: (i) => `/shops/${i.shop}/sessions/${i.sessionId}` },
  {
    method: 'POST',
    route: '/shops/:shopId/orders',
    who: ['owner', 'key'],
    path: (i) => `/shops/${i.shop}/orders`,
    body: () => ({ number: `M-${crypto.randomUUID()}`, total: 100, customerName: 'Анна' }),
  },
  { method: 'GET', route: '/shops/:shopId/orders', who: ORDERS, path: (i) => `/shops/${i.shop}/orders` },
  {
    method: 'PATCH',
    route: '/shops/:shopId/orders/:orderId',
    who: ORDERS,
    path: (i) => `/shops/${i.shop}/orders/${i.orderId}`,
    body: () => ({ status: 'cancelled' }),
  },
  { method: 'POST', route: '/shops/:shopId/orders/:orderId/telegram/resend', who: STAFF, path: (i) => `/shops/${i.shop}/orders/${i.orderId}/telegram/resend` },
  { method: 'POST', route: '/shops/:shopId/telegram/connect', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/connect`, body: () => ({ enabled: false }) },
  { method: 'GET', route: '/shops/:shopId/telegram/status', who: ORDERS, path: (i) => `/shops/${i.shop}/telegram/status` },
  { method: 'POST', route: '/shops/:shopId/telegram/test', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/test` },
  { method: 'POST', route: '/shops/:shopId/telegram/link', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/link` },
  { method: 'GET', route: '/shops/:shopId/telegram/managers', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/managers` },
  {
    method: 'POST',
    route: '/shops/:shopId/telegram/managers',
    who: OWNER,
    path: (i) => `/shops/${i.shop}/telegram/managers`,
    body: () => ({ telegramUserId: 4242 }),
  },
  { method: 'DELETE', route: '/shops/:shopId/telegram/managers/:telegramUserId', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/managers/4242` },
  { method: 'GET', route: '/shops/:shopId/telegram/settings', who: STAFF, path: (i) => `/shops/${i.shop}/telegram/settings` },
  {
    method: 'PATCH',
    route: '/shops/:shopId/telegram/settings',
    who: OWNER,
    path: (i) => `/shops/${i.shop}/telegram/settings`,
    body: () => ({ reminderLeadMinutes: 45 }),
  },
  { method: 'GET', route: '/shops/:shopId/telegram/summary', who: STAFF, path: (i) => `/shops/${i.shop}/telegram/summary` },
  { method: 'POST', route: '/shops/:shopId/telegram/summary', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/summary` },
  { method: 'GET', route: '/shops/:shopId/events', who: STAFF, path: (i) => `/shops/${i.shop}/events` },
  { method: 'GET', route: '/shops/:shopId/telegram/chats', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/chats` },
  {
    method: 'POST',
    route: '/shops/:shopId/telegram/chats',
    who: OWNER,
    path: (i) => `/shops/${i.shop}/telegram/chats`,
    body: () => ({ chatId: String(2_000_000 + ++chatSeq) }),
  },
  {
    method: 'PATCH',
    route: '/shops/:shopId/telegram/chats/:id',
    who: OWNER,
    path: (i) => `/shops/${i.shop}/telegram/chats/${i.recipientId}`,
    body: () => ({ events: ['order_created'] }),
  },
  { method: 'DELETE', route: '/shops/:shopId/telegram/chats/:id', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/chats/${i.recipientId}` },
  { method: 'POST', route: '/shops/:shopId/telegram/chats/:id/test', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/chats/${i.recipientId}/test` },
  { method: 'POST', route: '/shops/:shopId/telegram/mock/start', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/mock/start` },
  { method: 'GET', route: '/shops/:shopId/telegram/mock-messages', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/mock-messages` },

  // the platform: shops (operator), the feed and webhooks (operator or a shop key, scoped by the service)
  { method: 'POST', route: '/shops', who: 'operator', path: () => '/shops', body: () => ({ externalId: `x-${++chatSeq}`, name: 'Новый' }) },
  { method: 'GET', route: '/shops', who: 'operator', path: () => '/shops?externalId=none' },
  { method: 'GET', route: '/shops/:shopId', who: ORDERS, path: (i) => `/shops/${i.shop}` },
  { method: 'PATCH', route: '/shops/:shopId', who: 'operator', path: (i) => `/shops/${i.shop}`, body: () => ({ name: 'Переименован' }) },
  { method: 'DELETE', route: '/shops/:shopId', who: 'operator', path: () => '/shops/999999' },
  { method: 'GET', route: '/shops/:shopId/orders/:orderId', who: ORDERS, path: (i) => `/shops/${i.shop}/orders/${i.orderId}` },
  { method: 'GET', route: '/shops/:shopId/orders/:orderId/photos/:photoId', who: ORDERS, path: (i) => `/shops/${i.shop}/orders/${i.orderId}/photos/1` },
  { method: 'GET', route: '/events', who: KEY, path: () => '/events' },
  {
    method: 'POST',
    route: '/webhooks/endpoints',
    who: KEY,
    path: () => '/webhooks/endpoints',
    body: () => ({ url: 'https://example.invalid/hook' }),
  },
  { method: 'GET', route: '/webhooks/endpoints', who: KEY, path: () => '/webhooks/endpoints' },
  { method: 'GET', route: '/webhooks/endpoints/:id', who: KEY, path: () => '/webhooks/endpoints/999999' },
  { method: 'PATCH', route: '/webhooks/endpoints/:id', who: KEY, path: () => '/webhooks/endpoints/999999', body: () => ({ enabled: false }) },
  { method: 'DELETE', route: '/webhooks/endpoints/:id', who: KEY, path: () => '/webhooks/endpoints/999999' },
  { method: 'POST', route: '/webhooks/endpoints/:id/rotate-secret', who: KEY, path: () => '/webhooks/endpoints/999999/rotate-secret' },
  { method: 'POST', route: '/webhooks/endpoints/:id/test', who: KEY, path: () => '/webhooks/endpoints/999999/test' },
  { method: 'GET', route: '/webhooks/endpoints/:id/deliveries', who: KEY, path: () => '/webhooks/endpoints/999999/deliveries' },
  { method: 'POST', route: '/webhooks/deliveries/:id/retry', who: KEY, path: () => '/webhooks/deliveries/999999/retry' },
  // one tap to a bot
  { method: 'POST', route: '/shops/:shopId/telegram/managed-link', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/managed-link` },
  { method: 'POST', route: '/shops/:shopId/telegram/rotate-token', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/rotate-token` },
  { method: 'POST', route: '/shops/:shopId/telegram/mock/managed-bot', who: OWNER, path: (i) => `/shops/${i.shop}/telegram/mock/managed-bot` },
  {
    method: 'POST',
    route: '/telegram/manager-webhook/:webhookId',
    who: 'public',
    path: () => '/telegram/manager-webhook/unknown',
    body: () => ({ update_id: 1 }),
  },
]

let h: Harness
let webhookId = ''
const token = makeToken()
const op = { authorization: `Bearer ${ADMIN}` }

beforeAll(async () => {
  h = await createHarness({
    env: {
      ADMIN_TOKEN: ADMIN,
      PLATFORM_SECRET,
      MANAGER_BOT_TOKEN: MANAGER,
      RATE_LIMIT_WRITES_PER_MINUTE: '0',
      RATE_LIMIT_ORDERS_PER_MINUTE: '0',
      TEST_MESSAGE_INTERVAL_MS: '0',
    },
  })
  h.fake.enableBotManagement(MANAGER)
  OTHER = await h.shop('Чужой магазин')
  for (const shop of [OWN, OTHER]) {
    const r = await h.request(
      'POST',
      `/shops/${shop}/telegram/connect`,
      { botToken: shop === OWN ? token : makeToken(), chatId: String(1000 + shop), enabled: true },
      op,
    )
    expect(r.status).toBe(200)
  }
  const [row] = await h.sql<{ webhook_id: string }[]>`select webhook_id from telegram_integrations where shop_id = ${OWN}`
  webhookId = row!.webhook_id
}, 30_000)
afterAll(() => h.close())

/** A manager of the own shop with a session from their Mini App (initData signed by the shop's bot). */
async function managerSession(): Promise<{ token: string; tgUserId: number }> {
  const user = { id: 7_000_000 + ++tgSeq, first_name: 'Менеджер' }
  expect((await h.request('POST', `/shops/${OWN}/telegram/managers`, { telegramUserId: user.id }, op)).status).toBe(201)
  const r = await h.post('/session', { shopId: OWN, initData: telegramInitData(token, user) })
  expect(r.status).toBe(201)
  expect(r.json.role).toBe('manager')
  return { token: r.json.token, tgUserId: user.id }
}

/** Fresh credentials for one row of the matrix (a route may revoke or end what it is given). */
async function credentials(): Promise<Record<Cred, string | null>> {
  const key = async (shop: number) => (await h.request('POST', `/shops/${shop}/api-keys`, { name: 'pos' }, op)).json
  const session = async (shop: number) => {
    const { token } = await signLaunchToken({ shopId: shop, secret: PLATFORM_SECRET })
    const r = await h.post('/session', { launch: token })
    expect(r.status).toBe(201)
    return r.json.token as string
  }
  const revoked = await key(OWN)
  expect((await h.request('DELETE', `/shops/${OWN}/api-keys/${revoked.id}`, undefined, op)).status).toBe(204)
  const expired = `pfs_expired${crypto.randomUUID().replaceAll('-', '')}`
  await h.sql`insert into owner_sessions (shop_id, token_hash, source, expires_at) values (${OWN}, ${hashCredential(expired)}, 'launch', now() - interval '1 minute')`
  const removed = await managerSession()
  expect((await h.request('DELETE', `/shops/${OWN}/telegram/managers/${removed.tgUserId}`, undefined, op)).status).toBe(204)
  return {
    none: null,
    operator: ADMIN,
    owner: await session(OWN),
    manager: (await managerSession()).token,
    removedManager: removed.token,
    ownKey: (await key(OWN)).key,
    otherOwner: await session(OTHER),
    otherKey: (await key(OTHER)).key,
    expiredSession: expired,
    revokedKey: revoked.key,
  }
}

let fingerprintSql = ''
/** Every table's content (but a key's last-use time, which a refused request may touch, and live leases), as one digest per table. */
async function fingerprint(): Promise<Record<string, string>> {
  if (!fingerprintSql) {
    const tables = await h.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'
        and table_name <> 'live_watchers' -- a lease the open live streams renew in the background
      order by 1`
    const parts: string[] = []
    for (const { table_name } of tables) {
      const cols = await h.sql<{ column_name: string }[]>`
        select column_name from information_schema.columns where table_schema = 'public' and table_name = ${table_name}
        and not (table_name = 'shop_api_keys' and column_name = 'last_used_at') order by ordinal_position`
      const list = cols.map((c) => `"${c.column_name}"`).join(', ')
      parts.push(`select '${table_name}' as t, md5(coalesce(string_agg(row(${list})::text, '|' order by row(${list})::text), '')) as d from "${table_name}"`)
    }
    fingerprintSql = parts.join(' union all ')
  }
  const rows = await h.sql.unsafe(fingerprintSql)
  return Object.fromEntries(rows.map((r) => [r.t as string, r.d as string]))
}

const WHO: Partial<Record<Cred, Who>> = { owner: 'owner', otherOwner: 'owner', manager: 'manager', ownKey: 'key', otherKey: 'key' }

/** What the matrix expects of a canonical path: allowed, or the refusal status. */
function expected(sample: Sample, cred: Cred): 'allowed' | 401 | 403 {
  const who = sample.who
  if (who === 'public') return 'allowed'
  if (cred === 'none' || cred === 'expiredSession' || cred === 'revokedKey' || cred === 'removedManager') return 401
  if (cred === 'operator') return who === 'self' ? 403 : 'allowed'
  const kind = WHO[cred]!
  if (who === 'self') return kind === 'key' ? 403 : 'allowed'
  if (who === 'operator' || !who.includes(kind)) return 403
  const otherShop = cred === 'otherOwner' || cred === 'otherKey'
  return otherShop && sample.route.startsWith('/shops/:shopId') ? 403 : 'allowed'
}

/** The same request on paths the router might also match: each must reach nothing. */
function variants(path: string): string[] {
  const [p, q] = path.split('?') as [string, string | undefined]
  const qs = q ? `?${q}` : ''
  const lastSlash = p.lastIndexOf('/')
  return [
    `${p}/${qs}`,
    `${p.slice(0, lastSlash)}/${p.slice(lastSlash)}${qs}`,
    `${p.replace(/[a-z]+/, (w) => w.toUpperCase())}${qs}`,
    `${p.replace(/\/([^/]+)$/, (_m, seg: string) => `/${encodeURIComponent(seg).replace(/[a-z0-9]/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`)}${qs}`,
  ]
}

describe('tenancy matrix', () => {
  test('every route the app serves is in the matrix, and every route in the matrix has its own rule', () => {
    const served = h.app.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`).sort()
    const listed = SAMPLES.filter((s) => !s.pending)
      .map((s) => `${s.method} ${s.route}`)
      .sort()
    expect(listed).toEqual(served)
    for (const s of SAMPLES) {
      const concrete = s.route.replace(/:[A-Za-z]+/g, '1').replace('*', 'x.js')
      expect(accessOf(s.method, concrete), `${s.method} ${s.route}`).toEqual(s.who)
    }
  })

  for (const sample of SAMPLES) {
    test(`${sample.method} ${sample.route}: each credential gets what its kind and shop allow; path variants reach nothing; refusals change nothing`, async () => {
      const creds = await credentials()
      const arrange = async (): Promise<Ids> => {
        const [order] = await h.sql<{ id: string }[]>`
          insert into orders (shop_id, number, total, customer_name) values (${OWN}, ${`X-${crypto.randomUUID()}`}, 10, 'Олег') returning id`
        const [key] = await h.sql<{ id: string }[]>`
          insert into shop_api_keys (shop_id, prefix, key_hash) values (${OWN}, 'pfk_victim', ${crypto.randomUUID()}) returning id`
        const [recipient] = await h.sql<{ id: string }[]>`
          insert into telegram_chats (shop_id, chat_id, enabled) values (${OWN}, ${String(3_000_000 + ++chatSeq)}, false) returning id`
        const [session] = await h.sql<{ id: string }[]>`
          insert into owner_sessions (shop_id, token_hash, source, expires_at) values (${OWN}, ${crypto.randomUUID()}, 'launch', now() + interval '1 hour') returning id`
        return { shop: OWN, orderId: Number(order!.id), keyId: Number(key!.id), webhookId, recipientId: Number(recipient!.id), sessionId: Number(session!.id) }
      }
      for (const cred of CREDS) {
        const ids = await arrange()
        const path = sample.path(ids)
        const want = expected(sample, cred)
        const before = want === 'allowed' ? null : await fingerprint()
        const token = creds[cred]
        const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
        const r = await h.request(sample.method, path, sample.body?.(ids), headers)
        const label = `${sample.method} ${path} as ${cred}: ${r.status} ${r.text.slice(0, 120)}`
        if (want === 'allowed') {
          expect([401, 403].includes(r.status) && !(sample.route.startsWith('/telegram/') || sample.route === '/session'), label).toBe(false)
          expect(r.status, label).not.toBe(500)
        } else {
          expect(r.status, label).toBe(want)
          expect(r.json?.error, label).toBe(
            want === 401 ? (cred === 'expiredSession' || cred === 'removedManager' ? 'session_expired' : 'unauthorized') : 'forbidden',
          )
          const after = await fingerprint()
          expect(
            Object.keys(after).filter((t) => after[t] !== before![t]),
            label,
          ).toEqual([])
        }
      }
      // the variants: nobody, the operator included, reaches anything through them
      const ids = await arrange()
      const before = await fingerprint()
      for (const path of variants(sample.path(ids))) {
        // the page's own `/growth/telegram/` is a route of its own (public), not a variant
        if (isCanonicalPath(sample.method, path) && accessOf(sample.method, path) === 'public') continue
        for (const cred of CREDS) {
          const token = creds[cred]
          const r = await h.request(sample.method, path, sample.body?.(ids), token ? { authorization: `Bearer ${token}` } : {})
          const label = `${sample.method} ${path} as ${cred}: ${r.status} ${r.text.slice(0, 120)}`
          expect([401, 403, 404], label).toContain(r.status)
        }
      }
      expect(await fingerprint(), `${sample.method} ${sample.route}: a path variant changed something`).toEqual(before)
    }, 60_000)
  }
})
