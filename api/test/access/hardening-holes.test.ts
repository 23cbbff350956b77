import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { signLaunchToken } from '../../src/access'
import { MockClient } from '../../src/bot-api/mock-client'
import { ConfigError, loadConfig } from '../../src/config'
import { findIntegration } from '../../src/connect'
import { acceptCallbackData } from '../../src/orders/buttons'
import { pausedChatText } from '../../src/notifications'
import { createTokenCipher } from '../../src/platform/crypto'
import { makeToken } from '../fake-telegram'
import { createHarness, one, type Harness } from '../helpers'
import { telegramInitData } from '../mini-app'
import { bindOwner } from './fixtures'

/** Item 6 of issue 23, the smaller holes, each as an attacker (or a confused client) would send it. */
const ADMIN = 'operator-secret-token-0123456789abcdef'
const PLATFORM_SECRET = 'platform-secret-'.repeat(3)
const OWNER = { id: 8_200_001, first_name: 'Ольга' }
const MANAGER = { id: 8_200_777, first_name: 'Ира', last_name: 'Смирнова' }
const op = { authorization: `Bearer ${ADMIN}` }
const bearer = (t: string) => ({ authorization: `Bearer ${t}` })
const token = makeToken()
let h: Harness
let shop: number
let owner: string

const orders = async () => (await h.sql<{ n: number }[]>`select count(*)::int as n from orders where shop_id = ${shop}`)[0]!.n

beforeAll(async () => {
  h = await createHarness({ env: { ADMIN_TOKEN: ADMIN, PLATFORM_SECRET, AUTH_SESSIONS_PER_MINUTE: '0' } })
  shop = await h.shop('Лавка')
  expect((await h.request('POST', `/shops/${shop}/telegram/connect`, { botToken: token, enabled: true }, op)).status).toBe(200)
  const launch = await signLaunchToken({ shopId: shop, secret: PLATFORM_SECRET })
  owner = (await h.post('/session', { launch: launch.token })).json.token
  await bindOwner(h, shop, OWNER, bearer(owner))
  expect((await h.request('POST', `/shops/${shop}/telegram/managers`, { telegramUserId: MANAGER.id }, bearer(owner))).status).toBe(201)
}, 30_000)
afterAll(() => h.close())

describe('initData: one session each, fresh for minutes', () => {
  test('the same initData twice opens one session; the second is 401 init_data_reused', async () => {
    const initData = telegramInitData(token, MANAGER)
    expect((await h.post('/session', { shopId: shop, initData })).status).toBe(201)
    const again = await h.post('/session', { shopId: shop, initData })
    expect(again.status).toBe(401)
    expect(again.json.error).toBe('init_data_reused')
    expect(one(await h.sql`select count(*)::int as n from owner_sessions where tg_user_id = ${MANAGER.id}`).n).toBe(1)
  })

  test('initData six minutes old is stale', async () => {
    const r = await h.post('/session', { shopId: shop, initData: telegramInitData(token, MANAGER, Math.floor(Date.now() / 1000) - 6 * 60) })
    expect(r.status).toBe(401)
    expect(r.json.error).toBe('init_data_invalid')
  })
})

describe('throttles per client address', () => {
  test('POST /session past the budget is 429 rate_limited with Retry-After', async () => {
    const t = await createHarness({ env: { ADMIN_TOKEN: ADMIN, PLATFORM_SECRET, AUTH_SESSIONS_PER_MINUTE: '3', AUTH_SESSIONS_BURST: '3' } })
    try {
      const statuses = []
      for (let i = 0; i < 5; i++) statuses.push((await t.post('/session', { launch: 'not-a-jwt' })).status)
      expect(statuses).toEqual([401, 401, 401, 429, 429])
      const r = await t.post('/session', { launch: 'not-a-jwt' })
      expect(r.json.error).toBe('rate_limited')
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
    } finally {
      await t.close()
    }
  }, 30_000)

  test('failed bearer attempts past the budget are 429 before any credential is looked at', async () => {
    const t = await createHarness({ env: { ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_MINUTE: '5', AUTH_FAILURES_BURST: '5' } })
    try {
      const statuses = []
      for (let i = 0; i < 7; i++) statuses.push((await t.get('/shops/1/orders', bearer(`guess-${i}-${'x'.repeat(32)}`))).status)
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429])
      const r = await t.get('/shops/1/orders', bearer(`pfk_${'y'.repeat(43)}`))
      expect(r.status).toBe(429)
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
      // requests without a credential are not what is throttled
      expect((await t.get('/health')).status).toBe(200)
    } finally {
      await t.close()
    }
  }, 30_000)
})

describe('bodies: JSON only, no NUL bytes or lone surrogates', () => {
  test('text/plain, form-encoded and untyped bodies are 415 and store nothing', async () => {
    const before = await orders()
    const json = JSON.stringify({ number: 'CT-1', total: 1, customerName: 'Анна' })
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const r = await h.request('POST', `/shops/${shop}/orders`, json, { ...op, 'content-type': type })
      expect(r.status, type).toBe(415)
      expect(r.json.error).toBe('unsupported_media_type')
    }
    const untyped = await h.app.handle(new Request(`${h.base}/shops/${shop}/orders`, { method: 'POST', body: json, headers: op }))
    expect(untyped.status).toBe(415)
    expect(await orders()).toBe(before)
    expect((await h.request('POST', `/shops/${shop}/orders`, json, { ...op, 'content-type': 'application/json; charset=utf-8' })).status).toBe(201)
  })

  test('a NUL byte or a lone surrogate in any string is 422, never a 500', async () => {
    const before = await orders()
    for (const body of [
      '{"number":"NUL-1","total":1,"customerName":"А\\u0000нна"}',
      '{"number":"NUL-2","total":1,"customerName":"\\ud800"}',
      '{"number":"NUL-3","total":1,"customerName":"Анна","items":[{"name":"\\udc00x","quantity":1}]}',
      '{"number":"NUL-4\\u0000","total":1,"customerName":"Анна"}',
    ]) {
      const r = await h.request('POST', `/shops/${shop}/orders`, body, op)
      expect(r.status, body).toBe(422)
      expect(r.json.error).toBe('validation_failed')
    }
    expect(await orders()).toBe(before)
    expect((await h.get(`/shops/${shop}/orders?number=A%00B`, op)).status).toBe(422)
    // a proper pair (an emoji) is fine
    expect((await h.request('POST', `/shops/${shop}/orders`, '{"number":"EMO-1","total":1,"customerName":"Анна \\ud83c\\udf38"}', op)).status).toBe(201)
  })
})

describe('open mode (no ADMIN_TOKEN) answers only this machine', () => {
  let o: Harness
  beforeAll(async () => {
    o = await createHarness()
  }, 30_000)
  afterAll(() => o.close())
  const send = (headers: Record<string, string>) => o.app.handle(new Request('http://127.0.0.1:3000/shops/1/telegram/status', { headers }))

  test('a Host that is not loopback (DNS rebinding) or an Origin of another site (CSRF) is 403', async () => {
    const rebinding = await send({ host: 'attacker.example:3000' })
    expect(rebinding.status).toBe(403)
    expect(((await rebinding.json()) as { error: string }).error).toBe('forbidden_host')
    const csrf = await send({ host: '127.0.0.1:3000', origin: 'https://attacker.example' })
    expect(csrf.status).toBe(403)
    expect(((await csrf.json()) as { error: string }).error).toBe('forbidden_origin')
    expect((await send({ host: 'localhost:3000', origin: 'http://localhost:5173' })).status).toBe(200)
    expect((await send({ host: '[::1]:3000' })).status).toBe(200)
  })
})

describe('operators and actors', () => {
  test('ADMIN_TOKEN must be at least 32 characters', () => {
    expect(() => loadConfig({ ADMIN_TOKEN: 'x'.repeat(31) })).toThrow(ConfigError)
    expect(() => loadConfig({ ADMIN_TOKEN: 'x'.repeat(31) })).toThrow(/ADMIN_TOKEN must be at least 32 characters/)
    expect(loadConfig({ ADMIN_TOKEN: 'x'.repeat(32) }).ADMIN_TOKEN).toHaveLength(32)
  })

  test('the audit names the manager who changed a status, not «Поддержка» or the owner', async () => {
    const m = (await h.post('/session', { shopId: shop, initData: telegramInitData(token, MANAGER) })).json.token
    const order = (await h.post(`/shops/${shop}/orders`, { number: 'AUD-1', total: 1, customerName: 'Анна' }, op)).json.order
    expect((await h.request('PATCH', `/shops/${shop}/orders/${order.id}`, { status: 'accepted' }, bearer(m))).status).toBe(200)
    const row = one(await h.sql`select actor_kind, actor_id, actor_label from audit_log where order_id = ${order.id} order by id desc limit 1`)
    expect(row).toEqual({ actor_kind: 'manager', actor_id: `tg:${MANAGER.id}`, actor_label: 'Ира Смирнова (менеджер)' })
    const listed = (await h.get(`/shops/${shop}/orders`, op)).json.items.find((o: { id: number }) => o.id === order.id)
    expect(listed.statusChangedBy).toBe('Ира Смирнова (менеджер)')
    expect(listed.acceptedBy).toBe('Ира Смирнова')
  })
})

describe('Telegram', () => {
  test('a paused recipient’s old «Принять» answers that the chat is paused and changes nothing', async () => {
    const group = (await h.request('POST', `/shops/${shop}/telegram/chats`, { chatId: '-1008200002' }, op)).json
    const order = (await h.post(`/shops/${shop}/orders`, { number: 'PAU-1', total: 1, customerName: 'Анна' }, op)).json.order
    expect((await h.request('PATCH', `/shops/${shop}/telegram/chats/${group.id}`, { enabled: false }, bearer(owner))).status).toBe(200)
    const integration = (await findIntegration(h.sql, shop))!
    await h.services.updates.handle(integration, {
      update_id: 8_200_100,
      callback_query: {
        id: 'cb-paused',
        from: { id: 8_200_300, is_bot: false, first_name: 'Флорист' },
        data: acceptCallbackData(createTokenCipher(h.cipherKey), shop, order.id),
        chat_instance: 'x',
        message: { message_id: 5, date: 0, chat: { id: -1008200002, type: 'supergroup' } },
      },
    } as never)
    const answer = h.fake.callsOf('answerCallbackQuery', token).find((c) => c.payload.callback_query_id === 'cb-paused')!
    expect(answer.payload.text).toBe(pausedChatText)
    expect(one(await h.sql`select status from orders where id = ${order.id}`).status).toBe('new')
  })

  test('the page may be framed by Telegram Web (the Mini App there is an iframe)', async () => {
    const r = await h.get(`/shops/${shop}/growth/telegram`)
    expect(r.headers.get('content-security-policy')).toMatch(/frame-ancestors 'self' https:\/\/web\.telegram\.org(;|$| )/)
  })

  test('the mock /start works without a body, as the README shows it', async () => {
    const m = await createHarness({ client: new MockClient() })
    try {
      await m.connect(1, makeToken())
      const res = await m.app.handle(new Request(`${m.base}/shops/1/telegram/mock/start`, { method: 'POST' }))
      expect(res.status).toBe(200)
      expect(((await res.json()) as { result: string }).result).toBe('handled')
    } finally {
      await m.close()
    }
  }, 30_000)
})

describe('the OpenAPI document', () => {
  test('lists only application/json request bodies, 415 for others, and integer query numbers', async () => {
    const doc = (await h.get('/swagger/json')).json
    for (const [path, ops] of Object.entries<Record<string, { requestBody?: { content: Record<string, unknown> }; responses: Record<string, unknown> }>>(
      doc.paths,
    )) {
      for (const [method, o] of Object.entries(ops)) {
        if (!o.requestBody) continue
        expect(Object.keys(o.requestBody.content), `${method} ${path}`).toEqual(['application/json'])
        expect(o.responses['415'], `${method} ${path}`).toBeDefined()
      }
    }
    const limit = doc.paths['/shops/{shopId}/orders'].get.parameters.find((p: { name: string }) => p.name === 'limit')
    expect(limit.schema.type).toBe('integer')
    const auditLimit = doc.paths['/shops/{shopId}/audit'].get.parameters.find((p: { name: string }) => p.name === 'limit')
    expect(auditLimit.schema.type).toBe('integer')
  })
})
