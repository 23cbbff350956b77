import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { SignJWT } from 'jose'
import { signLaunchToken } from '../../src/access'
import { hashCredential } from '../../src/access/credentials'
import { createHarness, type Harness } from '../helpers'

const ADMIN = 'operator-secret-token-0123456789abcdef'
const SECRET = 's'.repeat(48)
const op = { authorization: `Bearer ${ADMIN}` }
const bearer = (t: string) => ({ authorization: `Bearer ${t}` })

/** What a platform does, written with jose directly (not our helper), claims as the contract names them. */
async function platformToken(claims: Record<string, unknown>, opts: { secret?: string; expSec?: number; alg?: string } = {}) {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expSec ?? 300))
    .sign(new TextEncoder().encode(opts.secret ?? SECRET))
}

let h: Harness
beforeAll(async () => {
  h = await createHarness({ env: { ADMIN_TOKEN: ADMIN, PLATFORM_SECRET: SECRET } })
})
afterAll(() => h.close())

describe('owner sessions from platform launch tokens', () => {
  test('a launch token signed by the platform opens a session for that shop, stored only as a hash', async () => {
    const launch = await platformToken({ shop: '1', jti: crypto.randomUUID(), sub: 'user-17', name: 'Ольга' })
    const r = await h.post('/session', { launch })
    expect(r.status).toBe(201)
    expect(r.json.shopId).toBe(1)
    expect(r.json.token).toMatch(/^pfs_[A-Za-z0-9_-]{43}$/)
    const ttlH = (Date.parse(r.json.expiresAt) - Date.now()) / 3_600_000
    expect(ttlH).toBeGreaterThan(11.9)
    expect(ttlH).toBeLessThanOrEqual(12)
    const rows = await h.sql`select token_hash, subject, subject_name from owner_sessions where shop_id = 1`
    expect(rows.some((x) => x.token_hash === hashCredential(r.json.token) && x.subject === 'user-17' && x.subject_name === 'Ольга')).toBe(true)
    expect(JSON.stringify(rows)).not.toContain(r.json.token)
    const status = await h.get('/shops/1/telegram/status', bearer(r.json.token))
    expect(status.status).toBe(200)
  })

  test('the same launch token twice: the second is 401 launch_reused and opens nothing', async () => {
    const launch = await platformToken({ shop: '1', jti: crypto.randomUUID() })
    const [first, second] = await Promise.all([h.post('/session', { launch }), h.post('/session', { launch })])
    expect([first.status, second.status].sort()).toEqual([201, 401])
    expect([first.json.error, second.json.error]).toContain('launch_reused')
  })

  test('bad signature, another algorithm, expired, too long-lived, missing jti or shop: 401, no session', async () => {
    const before = (await h.sql<{ n: number }[]>`select count(*)::int as n from owner_sessions`)[0]!.n
    const cases = [
      await platformToken({ shop: '1', jti: crypto.randomUUID() }, { secret: 'x'.repeat(48) }),
      await platformToken({ shop: '1', jti: crypto.randomUUID() }, { alg: 'HS512' }),
      await platformToken({ shop: '1', jti: crypto.randomUUID() }, { expSec: -120 }),
      await platformToken({ shop: '1', jti: crypto.randomUUID() }, { expSec: 24 * 3600 }),
      await platformToken({ shop: '1' }),
      await platformToken({ jti: crypto.randomUUID() }),
      await platformToken({ shop: '999999', jti: crypto.randomUUID() }),
      'not.a.jwt',
    ]
    for (const launch of cases) {
      const r = await h.post('/session', { launch })
      expect(r.status, launch).toBe(401)
      expect(['launch_invalid', 'launch_expired']).toContain(r.json.error)
    }
    const after = (await h.sql<{ n: number }[]>`select count(*)::int as n from owner_sessions`)[0]!.n
    expect(after).toBe(before)
  })

  test('the session reaches its own shop, not another shop, not API keys or owner links', async () => {
    const other = await h.shop()
    const { token } = await signLaunchToken({ shopId: 1, secret: SECRET })
    const s = (await h.post('/session', { launch: token })).json.token
    expect((await h.get('/shops/1/orders', bearer(s))).status).toBe(200)
    expect((await h.get(`/shops/${other}/orders`, bearer(s))).status).toBe(403)
    expect((await h.get('/shops/1/api-keys', bearer(s))).status).toBe(403)
    expect((await h.post('/shops/1/owner-link', {}, bearer(s))).status).toBe(403)
  })

  test('DELETE /session ends it at once; an expired session is 401 session_expired', async () => {
    const { token } = await signLaunchToken({ shopId: 1, secret: SECRET })
    const s = (await h.post('/session', { launch: token })).json.token
    expect((await h.request('DELETE', '/session', undefined, bearer(s))).status).toBe(204)
    const after = await h.get('/shops/1/orders', bearer(s))
    expect(after.status).toBe(401)
    expect(after.json.error).toBe('session_expired')
    const { token: t2 } = await signLaunchToken({ shopId: 1, secret: SECRET })
    const s2 = (await h.post('/session', { launch: t2 })).json.token
    await h.sql`update owner_sessions set expires_at = now() - interval '1 second' where token_hash = ${hashCredential(s2)}`
    const expired = await h.get('/shops/1/orders', bearer(s2))
    expect(expired.status).toBe(401)
    expect(expired.json.error).toBe('session_expired')
  })

  test('POST /shops/{id}/owner-link gives a page link whose launch token opens a session once', async () => {
    const r = await h.post('/shops/1/owner-link', {}, op)
    expect(r.status).toBe(201)
    const m = /^http:\/\/localhost\/shops\/1\/growth\/telegram#launch=(.+)$/.exec(r.json.url)
    expect(m).not.toBeNull()
    expect(Date.parse(r.json.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000)
    expect((await h.post('/session', { launch: m![1] })).status).toBe(201)
    expect((await h.post('/session', { launch: m![1] })).status).toBe(401)
  })

  test('without PLATFORM_SECRET owner links are 409 and launch tokens 401', async () => {
    const plain = await createHarness({ env: { ADMIN_TOKEN: ADMIN } })
    try {
      expect((await plain.post('/shops/1/owner-link', {}, op)).status).toBe(409)
      const r = await plain.post('/session', { launch: await platformToken({ shop: '1', jti: 'j' }) })
      expect(r.status).toBe(401)
      expect(r.json.error).toBe('launch_not_configured')
    } finally {
      await plain.close()
    }
  })
})

describe('shop API keys', () => {
  test('a key is shown once, stored as a hash with a visible prefix, and reaches only its shop’s POS routes', async () => {
    const r = await h.post('/shops/1/api-keys', { name: 'Касса 1' }, op)
    expect(r.status).toBe(201)
    expect(r.json.key).toMatch(/^pfk_[A-Za-z0-9_-]{43}$/)
    expect(r.json.prefix).toBe(r.json.key.slice(0, 12))
    const [row] = await h.sql`select key_hash, prefix from shop_api_keys where id = ${r.json.id}`
    expect(row!.key_hash).toBe(hashCredential(r.json.key))
    const list = await h.get('/shops/1/api-keys', op)
    expect(list.json.items.find((k: { id: number }) => k.id === r.json.id)).toEqual({
      id: r.json.id,
      prefix: r.json.prefix,
      name: 'Касса 1',
      createdAt: r.json.createdAt,
      lastUsedAt: null,
    })
    expect(list.text).not.toContain(r.json.key)
    const order = await h.post('/shops/1/orders', { number: `K-${crypto.randomUUID()}`, total: 990, customerName: 'Павел' }, bearer(r.json.key))
    expect(order.status).toBe(201)
    expect((await h.post('/shops/1/telegram/connect', { enabled: false }, bearer(r.json.key))).status).toBe(403)
  })

  test('lastUsedAt is kept; revocation stops the key at once; an unknown key id is 404', async () => {
    const r = await h.post('/shops/1/api-keys', {}, op)
    expect((await h.get('/shops/1/orders', bearer(r.json.key))).status).toBe(200)
    const list = await h.get('/shops/1/api-keys', op)
    expect(list.json.items.find((k: { id: number }) => k.id === r.json.id).lastUsedAt).not.toBeNull()
    expect((await h.request('DELETE', `/shops/1/api-keys/${r.json.id}`, undefined, op)).status).toBe(204)
    const refused = await h.get('/shops/1/orders', bearer(r.json.key))
    expect(refused.status).toBe(401)
    expect((await h.request('DELETE', `/shops/1/api-keys/${r.json.id}`, undefined, op)).status).toBe(404)
    expect((await h.get('/shops/1/api-keys', op)).json.items.some((k: { id: number }) => k.id === r.json.id)).toBe(false)
  })

  test('the audit trail names who changed an order’s status and the integration', async () => {
    const key = (await h.post('/shops/1/api-keys', { name: 'Касса 2' }, op)).json
    const order = (await h.post('/shops/1/orders', { number: `A-${crypto.randomUUID()}`, total: 10, customerName: 'Ира' }, bearer(key.key))).json.order
    expect((await h.request('PATCH', `/shops/1/orders/${order.id}`, { status: 'accepted' }, bearer(key.key))).status).toBe(200)
    // named as the shop names its till, not by its key
    expect((await h.get('/shops/1/orders?limit=50', op)).json.items.find((o: { id: number }) => o.id === order.id).statusChangedBy).toBe('Касса 2')
    const { token } = await signLaunchToken({ shopId: 1, secret: SECRET, name: 'Ольга' })
    const s = (await h.post('/session', { launch: token })).json.token
    expect((await h.request('PATCH', `/shops/1/orders/${order.id}`, { status: 'assembling' }, bearer(s))).status).toBe(200)
    const audit = (await h.get('/shops/1/audit', op)).json.items.filter((e: { orderId: number }) => e.orderId === order.id)
    expect(audit.map((e: { actor: string; details: { status: string } }) => [e.actor, e.details.status])).toEqual([
      ['Ольга', 'assembling'],
      ['Касса 2', 'accepted'],
    ])
    const listed = (await h.get('/shops/1/orders?limit=50', op)).json.items.find((o: { id: number }) => o.id === order.id)
    expect(listed.statusChangedBy).toBe('Ольга')
  })
})
