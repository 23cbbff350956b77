import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { Webhook } from 'standardwebhooks'
import { makeToken, type Call } from '../fake-telegram'
import { createHarness, eventually, one, type Harness } from '../helpers'
import { Receiver } from './receiver'

/**
 * The platform hears everything: events written with their change, delivered to a receiver that
 * verifies Standard Webhooks signatures, retried with the same webhook-id, scoped by credential.
 */
const ADMIN = 'a'.repeat(40)
const op = { authorization: `Bearer ${ADMIN}` }
let h: Harness
let rx: Receiver
let updateId = 500

beforeAll(async () => {
  h = await createHarness({ listen: true, env: { ADMIN_TOKEN: ADMIN }, webhooks: { retryDelaysMs: [100, 200, 300], intervalMs: 50 } })
  h.services.dispatcher.start()
  h.services.webhookSender.start()
  rx = new Receiver()
})
// every test starts with no endpoint, whatever the last one left behind
afterEach(async () => {
  rx.answer = () => 200
  await h.sql`delete from webhook_endpoints`
})
afterAll(async () => {
  rx.stop()
  await h.close()
})

async function endpoint(body: Record<string, unknown> = {}) {
  const r = await h.post('/webhooks/endpoints', { url: rx.url, ...body }, op)
  expect(r.status).toBe(201)
  expect(r.json.secret).toMatch(/^whsec_/)
  rx.secrets.push(r.json.secret)
  return r.json as { id: number; secret: string }
}

async function shopWithBot(name = 'Флора') {
  const created = await h.post('/shops', { externalId: `ext-${name}-${Math.random()}`, name }, op)
  const shopId = created.json.id as number
  const token = makeToken()
  const r = await h.request('POST', `/shops/${shopId}/telegram/connect`, { botToken: token, chatId: String(7000 + shopId), enabled: true }, op)
  expect(r.status).toBe(200)
  return { shopId, token }
}

async function apiKey(shopId: number) {
  const r = await h.post(`/shops/${shopId}/api-keys`, { name: 'Касса 1' }, op)
  expect(r.status).toBe(201)
  return { authorization: `Bearer ${r.json.key}` }
}

type Button = { text: string; callback_data?: string }
const buttons = (c: Call) => ((c.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat()

describe('platform events over signed webhooks', () => {
  test('«Принять» pressed in Telegram reaches the receiver as order.status_changed by telegram, signature verified', async () => {
    const ep = await endpoint({ events: ['order.created', 'order.status_changed'] })
    const { shopId, token } = await shopWithBot('Принять')
    const o = await h.post(`/shops/${shopId}/orders`, { number: 'W-1', total: 1500, customerName: 'Анна' }, op)
    expect(o.json.telegramStatus).toBe('sent')
    const sent = h.fake.sent(token).at(-1)!
    const log = one(await h.sql`select message_id, chat_id from telegram_send_log where order_id = ${o.json.order.id}`)
    const press = await h.fake.deliver(token, {
      update_id: ++updateId,
      callback_query: {
        id: `cb${updateId}`,
        from: { id: 501, is_bot: false, first_name: 'Ольга' },
        data: buttons(sent)[0]!.callback_data,
        chat_instance: 'x',
        message: { message_id: Number(log.message_id), date: 0, chat: { id: Number(log.chat_id), type: 'private' } },
      },
    })
    expect(press.status).toBe(200)
    const got = await eventually(() => rx.of('order.status_changed').find((r) => r.body.shopId === shopId), {
      timeoutMs: 15_000,
      message: 'status_changed delivered',
    })
    expect(got.verified).toBe(true)
    expect(got.body.data).toMatchObject({
      shopId,
      orderId: o.json.order.id,
      number: 'W-1',
      from: 'new',
      to: 'accepted',
      by: { source: 'telegram', name: 'Ольга' },
    })
    expect(got.id).toBe(got.body.id)
    const created = rx.of('order.created').find((r) => r.body.shopId === shopId)!
    expect(created.body.data).toMatchObject({ orderId: o.json.order.id, sequence: 1 })
    // per-order sequence: the message's notification.sent came between them
    expect(got.body.data.sequence).toBeGreaterThan(created.body.data.sequence)
    // the signature is the spec's: HMAC-SHA256 of "{id}.{timestamp}.{body}" with the secret's bytes
    expect(got.signature).toMatch(/^v1,[A-Za-z0-9+/=]+$/)
    const delivered = await eventually(
      async () => {
        const items = (await h.get(`/webhooks/endpoints/${ep.id}/deliveries`, op)).json.items as { status: string }[]
        return items.length >= 2 && items.every((d) => d.status === 'delivered')
      },
      { timeoutMs: 15_000, message: 'the log says delivered' },
    )
    expect(delivered).toBe(true)
    await h.request('DELETE', `/webhooks/endpoints/${ep.id}`, undefined, op)
  })

  test('a receiver answering 500 then 200 gets the same webhook-id twice; the log shows both attempts', async () => {
    const ep = await endpoint({ events: ['order.created'] })
    let failOnce = true
    rx.answer = (_, body) => {
      if (body.type === 'order.created' && body.data.number === 'W-RETRY' && failOnce) {
        failOnce = false
        return 500
      }
      return 200
    }
    const { shopId } = await shopWithBot('Повтор')
    await h.post(`/shops/${shopId}/orders`, { number: 'W-RETRY', total: 100, customerName: 'Иван' }, op)
    const both = await eventually(
      () => {
        const r = rx.received.filter((x) => x.body.data?.number === 'W-RETRY')
        return r.length >= 2 ? r : null
      },
      { timeoutMs: 15_000, message: 'a retry' },
    )
    expect(both.map((r) => r.status)).toEqual([500, 200])
    expect(both[0]!.id).toBe(both[1]!.id)
    // the outcome is recorded just after the receiver answers
    const d = await eventually(
      async () => {
        const log = await h.get(`/webhooks/endpoints/${ep.id}/deliveries`, op)
        return log.json.items.find((x: { eventId: string; status: string }) => x.eventId === both[0]!.id && x.status === 'delivered')
      },
      { timeoutMs: 15_000, message: 'delivered in the log' },
    )
    expect(d).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 })
    // a manual retry sends it once more, with the same id
    expect((await h.post(`/webhooks/deliveries/${d.id}/retry`, {}, op)).status).toBe(202)
    await eventually(() => rx.received.filter((x) => x.id === both[0]!.id).length === 3, { timeoutMs: 15_000, message: 'manual retry' })
    rx.answer = () => 200
    await h.request('DELETE', `/webhooks/endpoints/${ep.id}`, undefined, op)
  })

  test('a disabled endpoint gets nothing; enabled again it gets what comes after', async () => {
    const ep = await endpoint({ events: ['order.created'] })
    expect((await h.request('PATCH', `/webhooks/endpoints/${ep.id}`, { enabled: false }, op)).json.enabled).toBe(false)
    const { shopId } = await shopWithBot('Выключен')
    await h.post(`/shops/${shopId}/orders`, { number: 'W-OFF', total: 100, customerName: 'Иван' }, op)
    await h.request('PATCH', `/webhooks/endpoints/${ep.id}`, { enabled: true }, op)
    await h.post(`/shops/${shopId}/orders`, { number: 'W-ON', total: 100, customerName: 'Иван' }, op)
    await eventually(() => rx.received.some((r) => r.body.data?.number === 'W-ON'), { timeoutMs: 15_000, message: 'the later event' })
    expect(rx.received.some((r) => r.body.data?.number === 'W-OFF')).toBe(false)
    expect(one(await h.sql`select count(*)::int as n from webhook_deliveries where endpoint_id = ${ep.id}`).n).toBe(1)
    await h.request('DELETE', `/webhooks/endpoints/${ep.id}`, undefined, op)
  })

  test('an order edit shows in Telegram with «✏️ Изменено» and reaches the platform as order.updated', async () => {
    const ep = await endpoint({ events: ['order.updated'] })
    const { shopId, token } = await shopWithBot('Правка')
    const o = await h.post(`/shops/${shopId}/orders`, { number: 'W-EDIT', total: 100, customerName: 'Иван', address: 'ул. Старая, 1' }, op)
    const r = await h.request('PATCH', `/shops/${shopId}/orders/${o.json.order.id}`, { address: 'ул. Новая, 5', deliveryTime: '14:00–16:00', total: 100 }, op)
    expect(r.status).toBe(200)
    expect(r.json.changedFields).toEqual(['deliveryTime', 'address'])
    expect(r.json.order.address).toBe('ул. Новая, 5')
    const edit = await eventually(() => h.fake.callsOf('editMessageText', token).at(-1), { timeoutMs: 15_000, message: 'the message edited' })
    expect(String(edit.payload.text)).toContain('ул. Новая, 5')
    expect(String(edit.payload.text)).toContain('✏️ Изменено: время доставки, адрес')
    const got = await eventually(() => rx.of('order.updated').find((x) => x.body.shopId === shopId), { timeoutMs: 15_000, message: 'order.updated' })
    expect(got.body.data).toMatchObject({ orderId: o.json.order.id, changed: ['deliveryTime', 'address'] })
    // the same values again change nothing and say so
    const again = await h.request('PATCH', `/shops/${shopId}/orders/${o.json.order.id}`, { address: 'ул. Новая, 5' }, op)
    expect(again.json).toMatchObject({ changed: false, changedFields: [] })
    await h.request('DELETE', `/webhooks/endpoints/${ep.id}`, undefined, op)
  })

  test('rotation: both secrets sign for the overlap, so a receiver with either verifies', async () => {
    const ep = await endpoint({ events: ['webhook.test'] })
    const rot = await h.post(`/webhooks/endpoints/${ep.id}/rotate-secret`, {}, op)
    expect(rot.json.secret).toMatch(/^whsec_/)
    expect(rot.json.secret).not.toBe(ep.secret)
    const t = await h.post(`/webhooks/endpoints/${ep.id}/test`, {}, op)
    expect(t.status).toBe(202)
    const got = await eventually(() => rx.received.find((r) => r.id === t.json.eventId), { timeoutMs: 15_000, message: 'test event' })
    expect(got.signature.split(' ')).toHaveLength(2)
    const headers = { 'webhook-id': got.id, 'webhook-timestamp': got.timestamp, 'webhook-signature': got.signature }
    const body = JSON.stringify(got.body)
    expect(() => new Webhook(ep.secret).verify(body, headers)).not.toThrow()
    expect(() => new Webhook(rot.json.secret).verify(body, headers)).not.toThrow()
    expect(() => new Webhook(`whsec_${Buffer.from('someone else').toString('base64')}`).verify(body, headers)).toThrow()
    await h.request('DELETE', `/webhooks/endpoints/${ep.id}`, undefined, op)
  })

  test('an endpoint that has only failed for three days is switched off, and that is an event', async () => {
    const ep = await endpoint({ events: ['order.created'] })
    const watcher = await endpoint({ events: ['webhook.disabled'] })
    rx.answer = (_, body) => (body.type === 'order.created' ? 503 : 200)
    await h.sql`update webhook_endpoints set failing_since = now() - interval '73 hours' where id = ${ep.id}`
    const { shopId } = await shopWithBot('Падает')
    await h.post(`/shops/${shopId}/orders`, { number: 'W-DOWN', total: 100, customerName: 'Иван' }, op)
    const off = await eventually(async () => (await h.get(`/webhooks/endpoints/${ep.id}`, op)).json.enabled === false, {
      timeoutMs: 15_000,
      message: 'switched off',
    })
    expect(off).toBe(true)
    const told = await eventually(() => rx.of('webhook.disabled').find((r) => r.body.data.endpointId === ep.id), {
      timeoutMs: 15_000,
      message: 'webhook.disabled',
    })
    expect(told.body.data.reason).toBe('failing')
    const metrics = await h.get('/metrics', op)
    expect(metrics.text).toMatch(/webhook_endpoints_disabled_total 1/)
    expect(metrics.text).toMatch(/webhook_deliveries_total\{outcome="delivered"\} \d+/)
    rx.answer = () => 200
    await h.request('DELETE', `/webhooks/endpoints/${ep.id}`, undefined, op)
    await h.request('DELETE', `/webhooks/endpoints/${watcher.id}`, undefined, op)
  })
})

describe('metrics', () => {
  test('/metrics shows the oldest undelivered event per endpoint while a receiver is down', async () => {
    const down = await h.post('/webhooks/endpoints', { url: 'http://127.0.0.1:9/nobody-listens', events: ['order.created'] }, op)
    const { shopId } = await shopWithBot('Метрики')
    await h.post(`/shops/${shopId}/orders`, { number: 'M-1', total: 1, customerName: 'А' }, op)
    await eventually(async () => one(await h.sql`select attempts from webhook_deliveries where endpoint_id = ${down.json.id}`).attempts >= 1, {
      message: 'a failed attempt',
    })
    // a minute old and waiting for its next retry (the schedule is shortened in this harness)
    await h.sql`update webhook_deliveries set created_at = now() - interval '1 minute', next_attempt_at = now() + interval '1 hour', state = 'pending'
                where endpoint_id = ${down.json.id}`
    const text = (await h.get('/metrics', op)).text
    const m = new RegExp(`webhook_oldest_undelivered_seconds\\{endpoint="${down.json.id}"\\} ([0-9.]+)`).exec(text)
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(60)
    expect(text).toMatch(/webhook_deliveries_total\{outcome="failed_attempt"\} [1-9]/)
  })
})

describe('scoped by credential', () => {
  test('a shop key reads only its shop’s feed and endpoints; the operator reads every shop', async () => {
    const a = await shopWithBot('Фид А')
    const b = await shopWithBot('Фид Б')
    await h.post(`/shops/${a.shopId}/orders`, { number: 'F-A', total: 1, customerName: 'А' }, op)
    await h.post(`/shops/${b.shopId}/orders`, { number: 'F-B', total: 1, customerName: 'Б' }, op)
    const keyA = await apiKey(a.shopId)
    const feedA = await h.get('/events?limit=1000', keyA)
    expect(feedA.status).toBe(200)
    expect(feedA.json.items.length).toBeGreaterThan(0)
    expect(feedA.json.items.every((e: { shopId: number }) => e.shopId === a.shopId)).toBe(true)
    const all = await h.get(`/events?limit=1000&types=order.created,webhook.test`, op)
    const shops = new Set(all.json.items.map((e: { shopId: number }) => e.shopId))
    expect(shops.has(a.shopId) && shops.has(b.shopId)).toBe(true)
    expect(all.json.items.every((e: { type: string }) => e.type === 'order.created' || e.type === 'webhook.test')).toBe(true)
    // the cursor moves on: the next page starts after the last event seen
    const page1 = await h.get('/events?limit=2', op)
    const page2 = await h.get(`/events?limit=2&after=${page1.json.nextCursor}`, op)
    expect(Number(page2.json.items[0].id.slice(4))).toBeGreaterThan(Number(page1.json.items[1].id.slice(4)))
    // a key cannot register for another shop, nor see or touch the operator's endpoints
    expect((await h.post('/webhooks/endpoints', { url: 'https://93.184.215.14/hook', shopId: b.shopId }, keyA)).status).toBe(403)
    const opEp = await endpoint({ events: ['webhook.test'] })
    expect((await h.get(`/webhooks/endpoints/${opEp.id}`, keyA)).status).toBe(404)
    expect((await h.request('DELETE', `/webhooks/endpoints/${opEp.id}`, undefined, keyA)).status).toBe(404)
    expect((await h.get('/webhooks/endpoints', keyA)).json.items).toEqual([])
    expect((await h.get('/events?types=nope', op)).status).toBe(422)
    await h.request('DELETE', `/webhooks/endpoints/${opEp.id}`, undefined, op)
  })

  test('a shop key may register only https to a public address (no SSRF into the private network); the operator may register any', async () => {
    const { shopId } = await shopWithBot('SSRF')
    const key = await apiKey(shopId)
    for (const url of [
      'http://93.184.215.14/hook',
      'https://127.0.0.1/x',
      'https://10.0.0.5/x',
      'https://169.254.169.254/latest',
      'https://[::1]/x',
      'https://192.168.1.1/',
      'https://localhost/x',
    ]) {
      const r = await h.post('/webhooks/endpoints', { url }, key)
      expect([r.status, url]).toEqual([422, url])
    }
    expect(one(await h.sql`select count(*)::int as n from webhook_endpoints where shop_id = ${shopId}`).n).toBe(0)
    const ok = await h.post('/webhooks/endpoints', { url: 'https://93.184.215.14/hook' }, key)
    expect(ok.status).toBe(201)
    expect(ok.json.shopId).toBe(shopId)
    // removed before anything could be sent there (no traffic leaves this machine)
    expect((await h.request('DELETE', `/webhooks/endpoints/${ok.json.id}`, undefined, key)).status).toBe(204)
    const opLocal = await h.post('/webhooks/endpoints', { url: 'http://127.0.0.1:9/x', events: ['webhook.test'] }, op)
    expect(opLocal.status).toBe(201)
    await h.request('DELETE', `/webhooks/endpoints/${opLocal.json.id}`, undefined, op)
  })

  test('an owner session cannot reach events or webhooks', async () => {
    const { shopId } = await shopWithBot('Сессия')
    const [s] =
      await h.sql`insert into owner_sessions (shop_id, token_hash, source, expires_at) values (${shopId}, 'x', 'launch', now() + interval '1 hour') returning id`
    expect(s).toBeDefined()
    // no session token to present without a launch; an API key of another kind is tested above
    expect((await h.get('/events')).status).toBe(401)
    expect((await h.get('/webhooks/endpoints')).status).toBe(401)
  })
})
