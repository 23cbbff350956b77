import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { signLaunchToken } from '../../src/access'
import { makeToken } from '../fake-telegram'
import { createHarness, eventually, one, type Harness } from '../helpers'
import { telegramInitData } from '../mini-app'
import { bindOwner, startInPrivate } from './fixtures'

/**
 * The holes of issue 23, each sent the way the outside review sent it (items 1–5; the smaller ones are
 * in hardening-holes.test.ts). Every refusal is checked to change nothing that matters.
 */
const ADMIN = 'operator-secret-token-0123456789abcdef'
const PLATFORM_SECRET = 'platform-secret-'.repeat(3)
const PUBLIC_URL = 'https://notify.example.com'
const OWNER = { id: 8_100_001, first_name: 'Ольга' }
const MANAGER = { id: 8_100_777, first_name: 'Ира', last_name: 'Смирнова' }
const COURIER = { id: 8_100_555, first_name: 'Курьер' }
const op = { authorization: `Bearer ${ADMIN}` }
const bearer = (t: string) => ({ authorization: `Bearer ${t}` })
const token = makeToken()
let h: Harness
let shop: number
let ownerSession: string
let key: { id: number; key: string }

async function launchSession(shopId: number): Promise<string> {
  const { token } = await signLaunchToken({ shopId, secret: PLATFORM_SECRET, subject: 'user-1', name: 'Ольга (платформа)' })
  const r = await h.post('/session', { launch: token })
  expect(r.status).toBe(201)
  return r.json.token
}

async function managerSession(): Promise<string> {
  const r = await h.post('/session', { shopId: shop, initData: telegramInitData(token, MANAGER) })
  expect(r.status).toBe(201)
  expect(r.json.role).toBe('manager')
  return r.json.token
}

/** Opens the shop's live stream over the network and reads its first frame; `ended` settles when the server ends it. */
async function openStream(credential: string) {
  const abort = new AbortController()
  const res = await fetch(`${h.base}/shops/${shop}/events`, { headers: bearer(credential), signal: abort.signal })
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  const first = new TextDecoder().decode((await reader.read()).value)
  expect(first).toContain('event: ready')
  const ended = (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return true
  })()
  return { ended, close: () => abort.abort() }
}

/** A request line sent as is over a socket (an HTTP client would tidy the path first). */
async function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  const { connect } = await import('node:net')
  const { port } = new URL(h.base)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
      socket.write(`${lines.join('\r\n')}\r\n\r\n`)
    })
    let data = ''
    socket.on('data', (b) => {
      data += b
    })
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)))
    socket.on('error', reject)
  })
}

const count = async (q: Promise<{ n: number }[]>) => (await q)[0]!.n

beforeAll(async () => {
  h = await createHarness({ listen: true, env: { ADMIN_TOKEN: ADMIN, PLATFORM_SECRET, PUBLIC_URL } })
  shop = await h.shop('Цветы у дома')
  expect((await h.request('POST', `/shops/${shop}/telegram/connect`, { botToken: token, enabled: true }, op)).status).toBe(200)
  ownerSession = await launchSession(shop)
  await bindOwner(h, shop, OWNER, bearer(ownerSession))
  key = (await h.request('POST', `/shops/${shop}/api-keys`, { name: 'касса' }, op)).json
  expect((await h.request('POST', `/shops/${shop}/telegram/managers`, { telegramUserId: MANAGER.id, name: 'Ира' }, bearer(ownerSession))).status).toBe(201)
}, 30_000)
afterAll(() => h.close())

describe('1. access is decided on the path the router matches; what no rule names is denied', () => {
  test('GET /metrics/ and //metrics are 404 without a credential; /METRICS is 401', async () => {
    expect(await raw('GET', '/metrics/')).toBe(404)
    expect(await raw('GET', '//metrics')).toBe(404)
    expect(await raw('GET', '/metrics//')).toBe(404)
    expect(await raw('GET', '/METRICS')).toBe(401)
    expect(await raw('GET', '/metrics')).toBe(401)
    expect(await raw('GET', '/metrics/', op)).toBe(404)
    expect(await raw('GET', '/metrics', op)).toBe(200)
  })

  test('an owner session cannot mint an owner link or revoke the POS key with a trailing slash', async () => {
    const audit = () => count(h.sql`select count(*)::int as n from audit_log where shop_id = ${shop} and action in ('owner_link_issued', 'api_key_revoked')`)
    const before = await audit()
    expect((await h.request('POST', `/shops/${shop}/owner-link/`, {}, bearer(ownerSession))).status).toBe(404)
    expect((await h.request('DELETE', `/shops/${shop}/api-keys/${key.id}/`, undefined, bearer(ownerSession))).status).toBe(404)
    expect((await h.request('DELETE', `/shops/${shop}/api-keys/${key.id}%2F`, undefined, bearer(ownerSession))).status).toBe(404)
    expect((await h.request('DELETE', `/shops/${shop}/api-keys/${key.id}`, undefined, bearer(ownerSession))).status).toBe(403)
    expect(await audit()).toBe(before)
    expect((await h.get(`/shops/${shop}/orders`, bearer(key.key))).status).toBe(200)
  })

  test('HEAD of the live stream answers at once, also by a path with ./ (the access fuzz found it unanswered)', async () => {
    for (const path of [`/shops/${shop}/events`, `/shops/${shop}/./events`]) {
      expect(await raw('HEAD', path, op)).toBe(200)
      expect(await raw('HEAD', path, bearer(ownerSession))).toBe(200)
      expect(await raw('HEAD', path)).toBe(401)
    }
  })

  test('a percent-encoded shop id is no way around the shop check', async () => {
    const encoded = `%${String(shop).charCodeAt(0).toString(16)}${String(shop).slice(1)}`
    expect((await h.get(`/shops/${encoded}/orders`, bearer(key.key))).status).toBe(404)
  })

  test('a route or method no rule names is denied to every scoped credential, not public', async () => {
    expect((await h.get(`/shops/${shop}/no-such-thing`)).status).toBe(401)
    expect((await h.get(`/shops/${shop}/no-such-thing`, bearer(ownerSession))).status).toBe(403)
    expect((await h.request('PUT', `/shops/${shop}/orders`, {}, bearer(key.key))).status).toBe(403)
    expect((await h.get(`/shops/${shop}/no-such-thing`, op)).status).toBe(404)
  })
})

describe('2. a POS key cannot make itself the owner', () => {
  test('status shows a POS key no start code or link while one is live; it cannot ask for one', async () => {
    expect((await h.request('POST', `/shops/${shop}/telegram/link`, { purpose: 'owner' }, op)).status).toBe(200)
    const asOwner = await h.get(`/shops/${shop}/telegram/status`, bearer(ownerSession))
    expect(asOwner.json.connectLink).toContain('?start=')
    const asKey = await h.get(`/shops/${shop}/telegram/status`, bearer(key.key))
    expect(asKey.status).toBe(200)
    expect(asKey.json).toMatchObject({ connectLink: null, connectGroupLink: null, connectLinkPurpose: null })
    expect(asKey.text).not.toContain('start=')
    expect((await h.request('POST', `/shops/${shop}/telegram/link`, {}, bearer(key.key))).status).toBe(403)
    expect((await h.request('POST', `/shops/${shop}/telegram/connect`, { enabled: true }, bearer(key.key))).status).toBe(403)
  })

  test('a private chat bound with a recipient link is not the owner: no menu button, its initData is refused', async () => {
    const link = await h.request('POST', `/shops/${shop}/telegram/link`, { purpose: 'recipient' }, bearer(ownerSession))
    expect(link.json.connectLinkPurpose).toBe('recipient')
    const menusBefore = h.fake.callsOf('setChatMenuButton', token).length
    await startInPrivate(h, shop, COURIER, new URL(link.json.connectLink).searchParams.get('start')!)
    await h.services.updates.settle()
    expect(h.fake.callsOf('setChatMenuButton', token)).toHaveLength(menusBefore)
    expect(one(await h.sql`select owner_tg_user_id from shops where id = ${shop}`).owner_tg_user_id).toBe(String(OWNER.id))
    const r = await h.post('/session', { shopId: shop, initData: telegramInitData(token, COURIER) })
    expect(r.status).toBe(403)
    expect(r.json.error).toBe('not_allowed')
  })

  test('the owner bound with an owner link gets the menu button and an owner session from Telegram', async () => {
    const menus = h.fake.callsOf('setChatMenuButton', token)
    expect(menus.map((c) => c.payload.chat_id)).toEqual([OWNER.id])
    const r = await h.post('/session', { shopId: shop, initData: telegramInitData(token, OWNER) })
    expect(r.status).toBe(201)
    expect(r.json.role).toBe('owner')
  })
})

describe('3. a manager session is narrow, and removing the manager ends it with its live stream', () => {
  test('a manager reads and acts on orders, reads settings, and reaches nothing else', async () => {
    const m = bearer(await managerSession())
    const order = await h.post(`/shops/${shop}/orders`, { number: 'M3-1', total: 100, customerName: 'Анна' }, op)
    expect((await h.get(`/shops/${shop}/orders`, m)).status).toBe(200)
    expect((await h.request('PATCH', `/shops/${shop}/orders/${order.json.order.id}`, { status: 'accepted' }, m)).status).toBe(200)
    expect((await h.get(`/shops/${shop}/telegram/settings`, m)).status).toBe(200)
    const status = await h.get(`/shops/${shop}/telegram/status`, m)
    expect(status.json.connectLink).toBeNull()
    const managers = () => count(h.sql`select count(*)::int as n from telegram_managers where shop_id = ${shop}`)
    const before = await managers()
    for (const [method, path, body] of [
      ['PATCH', `/shops/${shop}/telegram/settings`, { reminderLeadMinutes: 30 }],
      ['GET', `/shops/${shop}/telegram/chats`, undefined],
      ['POST', `/shops/${shop}/telegram/managers`, { telegramUserId: 999 }],
      ['DELETE', `/shops/${shop}/telegram/managers/${MANAGER.id}`, undefined],
      ['POST', `/shops/${shop}/owner-link`, {}],
      ['POST', `/shops/${shop}/telegram/link`, {}],
      ['GET', `/shops/${shop}/sessions`, undefined],
      ['GET', `/shops/${shop}/audit`, undefined],
    ] as const) {
      const r = await h.request(method, path, body, m)
      expect(r.status, `${method} ${path}`).toBe(403)
    }
    expect(await managers()).toBe(before)
  })

  test('the owner sees the manager’s session; removing the manager ends it and closes their stream within seconds', async () => {
    const managerToken = await managerSession()
    const stream = await openStream(managerToken)
    const list = await h.get(`/shops/${shop}/sessions`, bearer(ownerSession))
    expect(list.status).toBe(200)
    const mine = list.json.items.filter((s: { telegramUserId: number | null }) => s.telegramUserId === MANAGER.id)
    expect(mine.length).toBeGreaterThan(0)
    expect(mine[0]).toMatchObject({ kind: 'manager', source: 'telegram', name: 'Ира Смирнова' })
    expect(list.json.items.find((s: { current: boolean }) => s.current).kind).toBe('owner')
    const started = Date.now()
    expect((await h.request('DELETE', `/shops/${shop}/telegram/managers/${MANAGER.id}`, undefined, bearer(ownerSession))).status).toBe(204)
    expect(await Promise.race([stream.ended, Bun.sleep(6000).then(() => false)])).toBe(true)
    expect(Date.now() - started).toBeLessThan(6000)
    const after = await h.get(`/shops/${shop}/orders`, bearer(managerToken))
    expect(after.status).toBe(401)
    expect(after.json.error).toBe('session_expired')
    expect(await count(h.sql`select count(*)::int as n from owner_sessions where tg_user_id = ${MANAGER.id} and revoked_at is null`)).toBe(0)
    // re-adding themselves is no longer possible either
    expect((await h.request('POST', `/shops/${shop}/telegram/managers`, { telegramUserId: MANAGER.id }, bearer(managerToken))).status).toBe(401)
    stream.close()
  })

  test('DELETE /shops/{id}/sessions/{id} ends one session (and its stream); another shop’s owner cannot', async () => {
    const victim = await launchSession(shop)
    const stream = await openStream(victim)
    const id = (await h.get(`/shops/${shop}/sessions`, bearer(victim))).json.items.find((s: { current: boolean }) => s.current).id
    const other = await h.shop('Чужой')
    expect((await h.request('DELETE', `/shops/${shop}/sessions/${id}`, undefined, bearer(await launchSession(other)))).status).toBe(403)
    expect((await h.get(`/shops/${shop}/orders`, bearer(victim))).status).toBe(200)
    expect((await h.request('DELETE', `/shops/${shop}/sessions/${id}`, undefined, bearer(ownerSession))).status).toBe(204)
    expect(await Promise.race([stream.ended, Bun.sleep(6000).then(() => false)])).toBe(true)
    expect((await h.get(`/shops/${shop}/orders`, bearer(victim))).status).toBe(401)
    expect((await h.request('DELETE', `/shops/${shop}/sessions/${id}`, undefined, bearer(ownerSession))).status).toBe(404)
    stream.close()
  })
})

describe('4. nobody takes the owner’s place through recipients', () => {
  test('PATCH of a recipient’s chat id is 422 and changes nothing; delete and add instead', async () => {
    const ownerRow = one(await h.sql<{ id: string }[]>`select id from telegram_chats where shop_id = ${shop} and chat_id = ${String(OWNER.id)}`)
    const r = await h.request('PATCH', `/shops/${shop}/telegram/chats/${ownerRow.id}`, { chatId: String(COURIER.id) }, bearer(ownerSession))
    expect(r.status).toBe(422)
    expect(r.json.error).toBe('chat_id_immutable')
    expect(one(await h.sql`select chat_id from telegram_chats where id = ${ownerRow.id}`).chat_id).toBe(String(OWNER.id))
    // the same chat id again is no change, and other fields still change
    const same = await h.request(
      'PATCH',
      `/shops/${shop}/telegram/chats/${ownerRow.id}`,
      { chatId: String(OWNER.id), events: ['order_created'] },
      bearer(ownerSession),
    )
    expect(same.status).toBe(200)
  })

  test('deleting the owner’s chat promotes nobody: the next private chat stays a plain recipient', async () => {
    const ownerRow = one(await h.sql<{ id: string }[]>`select id from telegram_chats where shop_id = ${shop} and chat_id = ${String(OWNER.id)}`)
    expect((await h.request('DELETE', `/shops/${shop}/telegram/chats/${ownerRow.id}`, undefined, bearer(ownerSession))).status).toBe(204)
    expect(one(await h.sql`select owner_tg_user_id from shops where id = ${shop}`).owner_tg_user_id).toBe(String(OWNER.id))
    const r = await h.post('/session', { shopId: shop, initData: telegramInitData(token, COURIER) })
    expect(r.status).toBe(403)
  })
})

describe('5. live stream caps hold under parallel opens', () => {
  test('60 parallel opens of one shop get exactly its cap; another shop still opens', async () => {
    const capped = await createHarness({
      listen: true,
      env: { ADMIN_TOKEN: ADMIN, PLATFORM_SECRET, LIVE_MAX_STREAMS_PER_SHOP: '4', LIVE_MAX_STREAMS: '6' },
    })
    try {
      const a = await capped.shop('A')
      const b = await capped.shop('B')
      const aborts: AbortController[] = []
      const open = async (shopId: number) => {
        const abort = new AbortController()
        aborts.push(abort)
        const res = await fetch(`${capped.base}/shops/${shopId}/events`, { headers: op, signal: abort.signal })
        if (res.status !== 200) await res.text()
        return res.status
      }
      const statuses = await Promise.all(Array.from({ length: 60 }, () => open(a)))
      expect(statuses.filter((s) => s === 200)).toHaveLength(4)
      expect(statuses.filter((s) => s === 429)).toHaveLength(56)
      expect(capped.services.live.size).toBe(4)
      expect(await open(b)).toBe(200)
      expect(await open(b)).toBe(200)
      expect(await open(b)).toBe(503)
      for (const x of aborts) x.abort()
      await eventually(() => capped.services.live.size === 0, { message: 'every stream closed' })
      expect(await open(a)).toBe(200)
      for (const x of aborts) x.abort()
    } finally {
      await capped.close()
    }
  }, 30_000)
})
