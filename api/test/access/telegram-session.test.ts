import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'
import { telegramInitData } from '../mini-app'
import { bindOwner } from './fixtures'

const ADMIN = 'operator-secret-token-0123456789abcdef'
const OWNER = { id: 5_550_123, first_name: 'Ольга', username: 'olga_flowers' }
let h: Harness
let shop: number
let other: number
const token = makeToken()
beforeAll(async () => {
  h = await createHarness({ env: { ADMIN_TOKEN: ADMIN } })
  shop = await h.shop('Лавка')
  other = await h.shop('Чужая')
  const r = await h.request('POST', `/shops/${shop}/telegram/connect`, { botToken: token, enabled: true }, { authorization: `Bearer ${ADMIN}` })
  expect(r.status).toBe(200)
  await bindOwner(h, shop, OWNER, { authorization: `Bearer ${ADMIN}` })
})
afterAll(() => h.close())

describe('sessions from Telegram Mini App initData', () => {
  test('initData signed with the shop’s bot token by its owner → an owner session for that shop only', async () => {
    const r = await h.post('/session', { shopId: shop, initData: telegramInitData(token, OWNER) })
    expect(r.status).toBe(201)
    expect(r.json.shopId).toBe(shop)
    const bearer = { authorization: `Bearer ${r.json.token}` }
    expect((await h.get(`/shops/${shop}/orders`, bearer)).status).toBe(200)
    expect((await h.get(`/shops/${other}/orders`, bearer)).status).toBe(403)
    const [row] = await h.sql`select source, kind, subject, subject_name from owner_sessions where shop_id = ${shop} order by id desc limit 1`
    expect(row).toEqual({ source: 'telegram', kind: 'owner', subject: `tg:${OWNER.id}`, subject_name: 'Ольга' })
    expect(r.json.role).toBe('owner')
  })

  test('another bot’s signature, a tampered field, a stale auth_date, garbage → 401, no session', async () => {
    const n = async () => (await h.sql<{ n: number }[]>`select count(*)::int as n from owner_sessions`)[0]!.n
    const before = await n()
    const good = telegramInitData(token, OWNER)
    const cases = [
      telegramInitData(makeToken(), OWNER),
      good.replace(encodeURIComponent(String(OWNER.id)), encodeURIComponent('5550124')),
      telegramInitData(token, OWNER, Math.floor(Date.now() / 1000) - 6 * 60),
      'hash=zz',
      good.replace(/hash=[0-9a-f]+/, ''),
    ]
    for (const initData of cases) {
      const r = await h.post('/session', { shopId: shop, initData })
      expect(r.status, initData.slice(0, 60)).toBe(401)
      expect(r.json.error).toBe('init_data_invalid')
    }
    expect((await h.post('/session', { shopId: other, initData: good })).status).toBe(401) // no bot there
    expect(await n()).toBe(before)
  })

  test('a user who is not the owner gets 403 until the owner allows them', async () => {
    const florist = { id: 5_550_777, first_name: 'Ира' }
    const refused = await h.post('/session', { shopId: shop, initData: telegramInitData(token, florist) })
    expect(refused.status).toBe(403)
    expect(refused.json.error).toBe('not_allowed')
    const owner = (await h.post('/session', { shopId: shop, initData: telegramInitData(token, OWNER) })).json.token
    const allowed = await h.post(`/shops/${shop}/telegram/managers`, { telegramUserId: florist.id, name: 'Ира' }, { authorization: `Bearer ${owner}` })
    expect(allowed.status).toBe(201)
    expect(allowed.json.items.map((m: { telegramUserId: number; addedBy: string }) => [m.telegramUserId, m.addedBy])).toEqual([[florist.id, 'Ольга']])
    const now = await h.post('/session', { shopId: shop, initData: telegramInitData(token, florist) })
    expect(now.status).toBe(201)
    expect((await h.request('DELETE', `/shops/${shop}/telegram/managers/${florist.id}`, undefined, { authorization: `Bearer ${owner}` })).status).toBe(204)
    expect((await h.post('/session', { shopId: shop, initData: telegramInitData(token, florist) })).status).toBe(403)
  })
})
