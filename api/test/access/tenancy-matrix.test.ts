import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { signLaunchToken } from '../../src/access'
import { hashCredential } from '../../src/access/credentials'
import { accessOf } from '../../src/platform/http/auth'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'

/**
 * The tenancy matrix: every route × every kind of credential × own shop / other shop. Refused requests
 * answer 401/403 and change nothing in the database; allowed ones reach the route.
 */
const ADMIN = 'operator-secret-token'
const PLATFORM_SECRET = 'p'.repeat(40)
const OWN = 1
let OTHER = 0
/** Each row's recipient gets its own chat id (random ones collided now and then: a flaky unique violation). */
let chatSeq = 0

type Cred = 'none' | 'operator' | 'ownKey' | 'otherKey' | 'ownSession' | 'otherSession' | 'expiredSession' | 'revokedKey'
const CREDS: Cred[] = ['none', 'operator', 'ownKey', 'otherKey', 'ownSession', 'otherSession', 'expiredSession', 'revokedKey']

type Sample = { method: string; route: string; path: (ids: Ids) => string; body?: (ids: Ids) => unknown }
type Ids = { shop: number; orderId: number; keyId: number; webhookId: string; recipientId: number }

/** One request per route, with a body the route accepts, so an allowed request reaches its handler. */
const SAMPLES: Sample[] = [
  { method: 'GET', route: '/swagger', path: () => '/swagger' },
  { method: 'GET', route: '/swagger/json', path: () => '/swagger/json' },
  { method: 'GET', route: '/health', path: () => '/health' },
  { method: 'GET', route: '/metrics', path: () => '/metrics' },
  { method: 'GET', route: '/', path: () => '/' },
  { method: 'GET', route: '/shops/:shopId/growth/telegram', path: (i) => `/shops/${i.shop}/growth/telegram` },
  { method: 'GET', route: '/shops/:shopId/growth/telegram/', path: (i) => `/shops/${i.shop}/growth/telegram/` },
  { method: 'GET', route: '/assets/*', path: () => '/assets/none.js' },
  { method: 'GET', route: '/favicon.svg', path: () => '/favicon.svg' },
  { method: 'GET', route: '/favicon.ico', path: () => '/favicon.ico' },
  { method: 'POST', route: '/telegram/webhook/:webhookId', path: (i) => `/telegram/webhook/${i.webhookId}`, body: () => ({ update_id: 1 }) },
  { method: 'POST', route: '/session', path: () => '/session', body: () => ({ launch: 'not-a-jwt' }) },
  { method: 'DELETE', route: '/session', path: () => '/session' },
  { method: 'POST', route: '/shops/:shopId/api-keys', path: (i) => `/shops/${i.shop}/api-keys`, body: () => ({ name: 'kassa' }) },
  { method: 'GET', route: '/shops/:shopId/api-keys', path: (i) => `/shops/${i.shop}/api-keys` },
  { method: 'DELETE', route: '/shops/:shopId/api-keys/:keyId', path: (i) => `/shops/${i.shop}/api-keys/${i.keyId}` },
  { method: 'POST', route: '/shops/:shopId/owner-link', path: (i) => `/shops/${i.shop}/owner-link` },
  { method: 'GET', route: '/shops/:shopId/audit', path: (i) => `/shops/${i.shop}/audit` },
  {
    method: 'POST',
    route: '/shops/:shopId/orders',
    path: (i) => `/shops/${i.shop}/orders`,
    body: () => ({ number: `M-${crypto.randomUUID()}`, total: 100, customerName: 'Анна' }),
  },
  { method: 'GET', route: '/shops/:shopId/orders', path: (i) => `/shops/${i.shop}/orders` },
  { method: 'PATCH', route: '/shops/:shopId/orders/:orderId', path: (i) => `/shops/${i.shop}/orders/${i.orderId}`, body: () => ({ status: 'cancelled' }) },
  { method: 'POST', route: '/shops/:shopId/orders/:orderId/telegram/resend', path: (i) => `/shops/${i.shop}/orders/${i.orderId}/telegram/resend` },
  { method: 'GET', route: '/shops/:shopId/orders/:orderId/photos/:photoId', path: (i) => `/shops/${i.shop}/orders/${i.orderId}/photos/1` },
  { method: 'POST', route: '/shops/:shopId/telegram/connect', path: (i) => `/shops/${i.shop}/telegram/connect`, body: () => ({ enabled: false }) },
  { method: 'GET', route: '/shops/:shopId/telegram/status', path: (i) => `/shops/${i.shop}/telegram/status` },
  { method: 'POST', route: '/shops/:shopId/telegram/test', path: (i) => `/shops/${i.shop}/telegram/test` },
  { method: 'POST', route: '/shops/:shopId/telegram/link', path: (i) => `/shops/${i.shop}/telegram/link` },
  { method: 'GET', route: '/shops/:shopId/telegram/managers', path: (i) => `/shops/${i.shop}/telegram/managers` },
  { method: 'POST', route: '/shops/:shopId/telegram/managers', path: (i) => `/shops/${i.shop}/telegram/managers`, body: () => ({ telegramUserId: 4242 }) },
  { method: 'DELETE', route: '/shops/:shopId/telegram/managers/:telegramUserId', path: (i) => `/shops/${i.shop}/telegram/managers/4242` },
  { method: 'GET', route: '/shops/:shopId/telegram/settings', path: (i) => `/shops/${i.shop}/telegram/settings` },
  { method: 'PATCH', route: '/shops/:shopId/telegram/settings', path: (i) => `/shops/${i.shop}/telegram/settings`, body: () => ({ reminderLeadMinutes: 45 }) },
  { method: 'GET', route: '/shops/:shopId/telegram/summary', path: (i) => `/shops/${i.shop}/telegram/summary` },
  { method: 'POST', route: '/shops/:shopId/telegram/summary', path: (i) => `/shops/${i.shop}/telegram/summary` },
  { method: 'GET', route: '/shops/:shopId/events', path: (i) => `/shops/${i.shop}/events` },
  { method: 'GET', route: '/shops/:shopId/telegram/chats', path: (i) => `/shops/${i.shop}/telegram/chats` },
  {
    method: 'POST',
    route: '/shops/:shopId/telegram/chats',
    path: (i) => `/shops/${i.shop}/telegram/chats`,
    body: () => ({ chatId: String(2_000_000 + ++chatSeq) }),
  },
  {
    method: 'PATCH',
    route: '/shops/:shopId/telegram/chats/:id',
    path: (i) => `/shops/${i.shop}/telegram/chats/${i.recipientId}`,
    body: () => ({ events: ['order_created'] }),
  },
  { method: 'DELETE', route: '/shops/:shopId/telegram/chats/:id', path: (i) => `/shops/${i.shop}/telegram/chats/${i.recipientId}` },
  { method: 'POST', route: '/shops/:shopId/telegram/chats/:id/test', path: (i) => `/shops/${i.shop}/telegram/chats/${i.recipientId}/test` },
  { method: 'POST', route: '/shops/:shopId/telegram/mock/start', path: (i) => `/shops/${i.shop}/telegram/mock/start`, body: () => ({}) },
]

let h: Harness
let webhookId = ''

beforeAll(async () => {
  h = await createHarness({
    env: { ADMIN_TOKEN: ADMIN, PLATFORM_SECRET, RATE_LIMIT_WRITES_PER_MINUTE: '0', RATE_LIMIT_ORDERS_PER_MINUTE: '0', TEST_MESSAGE_INTERVAL_MS: '0' },
  })
  OTHER = await h.shop('Чужой магазин')
  const op = { authorization: `Bearer ${ADMIN}` }
  for (const shop of [OWN, OTHER]) {
    const r = await h.request('POST', `/shops/${shop}/telegram/connect`, { botToken: makeToken(), chatId: String(1000 + shop), enabled: true }, op)
    expect(r.status).toBe(200)
  }
  const [row] = await h.sql<{ webhook_id: string }[]>`select webhook_id from telegram_integrations where shop_id = ${OWN}`
  webhookId = row!.webhook_id
})
afterAll(() => h.close())

/** Fresh credentials for one row of the matrix (a route may revoke or end what it is given). */
async function credentials(): Promise<Record<Cred, string | null>> {
  const op = { authorization: `Bearer ${ADMIN}` }
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
  return {
    none: null,
    operator: ADMIN,
    ownKey: (await key(OWN)).key,
    otherKey: (await key(OTHER)).key,
    ownSession: await session(OWN),
    otherSession: await session(OTHER),
    expiredSession: expired,
    revokedKey: revoked.key,
  }
}

/** Every table's content (but a key's last-use time, which a refused request may touch), as one digest. */
async function fingerprint(): Promise<Record<string, string>> {
  const tables = await h.sql<{ table_name: string }[]>`
    select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`
  const out: Record<string, string> = {}
  for (const { table_name } of tables) {
    const cols = await h.sql<{ column_name: string }[]>`
      select column_name from information_schema.columns where table_schema = 'public' and table_name = ${table_name}
      and not (table_name = 'shop_api_keys' and column_name = 'last_used_at') order by ordinal_position`
    const list = cols.map((c) => `"${c.column_name}"`).join(', ')
    const [r] = await h.sql.unsafe(`select md5(coalesce(string_agg(row(${list})::text, '|' order by row(${list})::text), '')) as d from "${table_name}"`)
    out[table_name] = r!.d as string
  }
  return out
}

/** What the matrix expects: allowed, or the refusal status. */
function expected(method: string, _route: string, cred: Cred, path: string): 'allowed' | 401 | 403 {
  const access = accessOf(method, path)
  if (access === 'public') return 'allowed'
  if (cred === 'none' || cred === 'expiredSession' || cred === 'revokedKey') return 401
  if (cred === 'operator') return access === 'session' ? 403 : 'allowed'
  if (cred === 'otherKey' || cred === 'otherSession') return access === 'session' && cred === 'otherSession' ? 'allowed' : 403
  if (cred === 'ownKey') return access === 'pos' ? 'allowed' : 403
  // ownSession
  return access === 'operator' ? 403 : 'allowed'
}

describe('tenancy matrix', () => {
  test('the matrix lists every route the app serves', () => {
    const served = h.app.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`).sort()
    const listed = SAMPLES.map((s) => `${s.method} ${s.route}`).sort()
    expect(listed).toEqual(served)
  })

  for (const sample of SAMPLES) {
    test(`${sample.method} ${sample.route}: each credential gets what its kind and shop allow, refusals change nothing`, async () => {
      const creds = await credentials()
      for (const cred of CREDS) {
        const [order] = await h.sql<{ id: string }[]>`
          insert into orders (shop_id, number, total, customer_name) values (${OWN}, ${`X-${crypto.randomUUID()}`}, 10, 'Олег') returning id`
        const [key] = await h.sql<{ id: string }[]>`
          insert into shop_api_keys (shop_id, prefix, key_hash) values (${OWN}, 'pfk_victim', ${crypto.randomUUID()}) returning id`
        const [recipient] = await h.sql<{ id: string }[]>`
          insert into telegram_chats (shop_id, chat_id) values (${OWN}, ${String(3_000_000 + ++chatSeq)}) returning id`
        const ids: Ids = { shop: OWN, orderId: Number(order!.id), keyId: Number(key!.id), webhookId, recipientId: Number(recipient!.id) }
        const path = sample.path(ids)
        const want = expected(sample.method, sample.route, cred, path)
        const before = want === 'allowed' ? null : await fingerprint()
        const token = creds[cred]
        const r = await h.request(sample.method, path, sample.body?.(ids), token ? { authorization: `Bearer ${token}` } : {})
        const label = `${sample.method} ${path} as ${cred}: ${r.status} ${r.text.slice(0, 120)}`
        if (want === 'allowed') {
          expect([401, 403].includes(r.status) && !(sample.route.startsWith('/telegram/webhook') || sample.route === '/session'), label).toBe(false)
          expect(r.status, label).not.toBe(500)
        } else {
          expect(r.status, label).toBe(want)
          expect(r.json?.error, label).toBe(want === 401 ? (cred === 'expiredSession' ? 'session_expired' : 'unauthorized') : 'forbidden')
          expect(await fingerprint(), label).toEqual(before!)
        }
      }
    })
  }
})
