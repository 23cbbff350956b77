import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, one, type Harness } from '../helpers'

/** The platform provisions shops by API (operator only) and offboards them, leaving nothing behind. */
const ADMIN = 'p'.repeat(40)
const op = { authorization: `Bearer ${ADMIN}` }
let h: Harness

beforeAll(async () => {
  h = await createHarness({ env: { ADMIN_TOKEN: ADMIN } })
})
afterAll(async () => {
  await h.close()
})

describe('shops by API', () => {
  test('POST /shops is an upsert by externalId: 201 once, then 200 with the same shop and its new name', async () => {
    const a = await h.post('/shops', { externalId: 'posiflora-42', name: 'Ромашка', timeZone: 'Asia/Yekaterinburg' }, op)
    expect(a.status).toBe(201)
    expect(a.json).toMatchObject({ externalId: 'posiflora-42', name: 'Ромашка', timeZone: 'Asia/Yekaterinburg' })
    const again = await h.post('/shops', { externalId: 'posiflora-42', name: 'Ромашка и Лютик' }, op)
    expect(again.status).toBe(200)
    expect(again.json).toMatchObject({ id: a.json.id, name: 'Ромашка и Лютик', timeZone: 'Asia/Yekaterinburg' })
    // racing provisioners get one shop
    const racing = await Promise.all([1, 2, 3, 4, 5].map(() => h.post('/shops', { externalId: 'posiflora-race', name: 'Гонка' }, op)))
    expect(new Set(racing.map((r) => r.json.id)).size).toBe(1)
    expect(racing.filter((r) => r.status === 201)).toHaveLength(1)
    const found = await h.get('/shops?externalId=posiflora-42', op)
    expect(found.json.items.map((s: { id: number }) => s.id)).toEqual([a.json.id])
    expect((await h.get('/shops?externalId=nobody', op)).json.items).toEqual([])
  })

  test('GET and PATCH one shop; bad input is 422 naming the field and changes nothing', async () => {
    const s = (await h.post('/shops', { externalId: 'posiflora-patch', name: 'Старое имя' }, op)).json
    const p = await h.request('PATCH', `/shops/${s.id}`, { name: 'Новое имя', timeZone: 'Europe/Kaliningrad' }, op)
    expect(p.status).toBe(200)
    expect(p.json).toMatchObject({ name: 'Новое имя', timeZone: 'Europe/Kaliningrad' })
    expect((await h.get(`/shops/${s.id}`, op)).json.name).toBe('Новое имя')
    const badZone = await h.request('PATCH', `/shops/${s.id}`, { timeZone: 'Mars/Olympus' }, op)
    expect(badZone.status).toBe(422)
    expect(JSON.stringify(badZone.json.details)).toContain('timeZone')
    const noName = await h.post('/shops', { externalId: 'x', name: '' }, op)
    expect(noName.status).toBe(422)
    expect(JSON.stringify(noName.json.details)).toContain('name')
    expect((await h.post('/shops', { name: 'без id' }, op)).json.details[0].path).toBe('externalId')
    expect((await h.get(`/shops/${s.id}`, op)).json).toMatchObject({ name: 'Новое имя', timeZone: 'Europe/Kaliningrad' })
    expect(one(await h.sql`select count(*)::int as n from shops where external_id = 'x'`).n).toBe(0)
    expect((await h.get('/shops/999999', op)).status).toBe(404)
  })

  test('provisioning is operator-only: no credential 401, a shop key or another kind 403, nothing created', async () => {
    const s = (await h.post('/shops', { externalId: 'posiflora-keyed', name: 'С ключом' }, op)).json
    const key = (await h.post(`/shops/${s.id}/api-keys`, { name: 'Касса' }, op)).json.key
    const before = one(await h.sql`select count(*)::int as n from shops`).n
    expect((await h.post('/shops', { externalId: 'sneaky', name: 'x' })).status).toBe(401)
    expect((await h.post('/shops', { externalId: 'sneaky', name: 'x' }, { authorization: `Bearer ${key}` })).status).toBe(403)
    expect((await h.get('/shops', { authorization: `Bearer ${key}` })).status).toBe(403)
    expect((await h.request('PATCH', `/shops/${s.id}`, { name: 'Взлом' }, { authorization: `Bearer ${key}` })).status).toBe(403)
    expect((await h.request('DELETE', `/shops/${s.id}`, undefined, { authorization: `Bearer ${key}` })).status).toBe(403)
    // its own shop it may read
    expect((await h.get(`/shops/${s.id}`, { authorization: `Bearer ${key}` })).status).toBe(200)
    expect(one(await h.sql`select count(*)::int as n from shops`).n).toBe(before)
    expect((await h.get(`/shops/${s.id}`, op)).json.name).toBe('С ключом')
  })
})

describe('offboarding', () => {
  test('DELETE /shops/{id} leaves nothing of the shop, its key gets 401, its bot’s webhook is removed, a line is kept', async () => {
    const s = (await h.post('/shops', { externalId: 'posiflora-gone', name: 'Уходим' }, op)).json
    const token = makeToken()
    await h.request('POST', `/shops/${s.id}/telegram/connect`, { botToken: token, chatId: '4242', enabled: true }, op)
    const key = (await h.post(`/shops/${s.id}/api-keys`, { name: 'Касса' }, op)).json.key
    const auth = { authorization: `Bearer ${key}` }
    const o = await h.post(`/shops/${s.id}/orders`, { number: 'G-1', total: 10, customerName: 'Анна' }, auth)
    expect(o.json.telegramStatus).toBe('sent')
    await h.request('PATCH', `/shops/${s.id}/orders/${o.json.order.id}`, { status: 'accepted' }, auth)
    await h.post('/webhooks/endpoints', { url: 'https://93.184.215.14/hook', events: ['webhook.test'] }, auth)
    const tables = [
      'orders',
      'telegram_send_log',
      'telegram_outbox',
      'telegram_chats',
      'telegram_integrations',
      'shop_api_keys',
      'audit_log',
      'platform_events',
      'webhook_endpoints',
    ]
    const count = async () => {
      const out: Record<string, number> = {}
      for (const t of tables) out[t] = one(await h.sql`select count(*)::int as n from ${h.sql(t)} where shop_id = ${s.id}`).n
      out.telegram_messages = one(
        await h.sql`select count(*)::int as n from telegram_messages m join orders o on o.id = m.order_id where o.shop_id = ${s.id}`,
      ).n
      return out
    }
    const before = await count()
    expect(before.orders).toBe(1)
    expect(before.platform_events).toBeGreaterThan(0)
    const del = await h.request('DELETE', `/shops/${s.id}`, undefined, op)
    expect(del.status).toBe(204)
    expect(Object.values(await count()).every((n) => n === 0)).toBe(true)
    expect(one(await h.sql`select count(*)::int as n from shops where id = ${s.id}`).n).toBe(0)
    expect((await h.get(`/shops/${s.id}/orders`, auth)).status).toBe(401)
    expect(h.fake.callsOf('deleteWebhook', token).length).toBeGreaterThanOrEqual(1)
    const line = one(await h.sql`select external_id, name, actor_label, details from shop_offboarding_log where shop_id = ${s.id}`)
    expect(line).toMatchObject({ external_id: 'posiflora-gone', name: 'Уходим', actor_label: 'operator' })
    expect((await h.get(`/shops/${s.id}`, op)).status).toBe(404)
    expect((await h.request('DELETE', `/shops/${s.id}`, undefined, op)).status).toBe(404)
  })
})
