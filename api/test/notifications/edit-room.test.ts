import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'

/**
 * Edits never starve new orders (sql/024): a group's minute keeps its last quarter (5 of 20) for new
 * orders. A status edit waits while 15 messages fall within the group's last minute; a new order goes.
 */
let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

/** The group's last minute holds `n` sends, the newest a moment ago; its next slot is free. */
const fillWindow = (shop: number, n: number) => h.sql`
  update telegram_chats set next_send_at = null,
    sent_window = array(select now() - g * interval '2 seconds' from generate_series(1, ${n}::int) g order by 1)
  where shop_id = ${shop}`

describe('a busy group keeps room for new orders', () => {
  test('with 15 sends in its minute an edit waits and a new order goes; below 15 the edit goes', async () => {
    const shop = await h.shop('Группа')
    const token = makeToken()
    await h.connect(shop, token, '-1009900001')
    const first = await h.post(`/shops/${shop}/orders`, { number: 'ER-1', total: 100, customerName: 'Ян' })
    expect(first.json.telegramStatus).toBe('sent')
    expect((await h.request('PATCH', `/shops/${shop}/orders/${first.json.order.id}`, { status: 'accepted' })).status).toBe(200)

    await fillWindow(shop, 15)
    expect(await h.services.dispatcher.runOnce()).toBe(0)
    expect(h.fake.callsOf('editMessageText', token)).toHaveLength(0)

    // a new order left to the dispatcher (its request found the slot busy) is taken in the same minute
    const [chat] = await h.sql<{ id: string }[]>`select id from telegram_chats where shop_id = ${shop}`
    const [order] = await h.sql<{ id: string }[]>`insert into orders (shop_id, number, total, customer_name) values (${shop}, 'ER-2', 100, 'Ян') returning id`
    await h.sql`insert into telegram_outbox (shop_id, order_id, kind, chat_ref) values (${shop}, ${order!.id}, 'order', ${chat!.id})`
    await fillWindow(shop, 15)
    expect(await h.services.dispatcher.runOnce()).toBe(1)
    expect(String(h.fake.sent(token).at(-1)!.payload.text)).toContain('ER-2')
    expect(h.fake.callsOf('editMessageText', token)).toHaveLength(0)

    // the minute has room again: the waiting edit goes, showing the newest status
    expect((await h.request('PATCH', `/shops/${shop}/orders/${first.json.order.id}`, { status: 'assembling' })).status).toBe(200)
    await fillWindow(shop, 14)
    expect(await h.services.dispatcher.runOnce()).toBe(1)
    const edits = h.fake.callsOf('editMessageText', token)
    expect(edits).toHaveLength(1)
    expect(String(edits[0]!.payload.text)).toContain('<b>Собирается</b>')
  }, 30_000)

  test('a private chat is not held back by its window', async () => {
    const shop = await h.shop('Личка')
    const token = makeToken()
    await h.connect(shop, token, '9900002')
    const first = await h.post(`/shops/${shop}/orders`, { number: 'EP-1', total: 100, customerName: 'Ян' })
    await h.request('PATCH', `/shops/${shop}/orders/${first.json.order.id}`, { status: 'accepted' })
    await fillWindow(shop, 19)
    expect(await h.services.dispatcher.runOnce()).toBe(1)
    expect(h.fake.callsOf('editMessageText', token)).toHaveLength(1)
  }, 30_000)

  test('a backlog of edits in many chats never hides a new order from the dispatcher: its chat is claimed first', async () => {
    const x = await createHarness({ fake: h.fake, delivery: { concurrency: 2 } })
    try {
      // 40 recipients with an edit each, due before the new order below
      const busy = await x.shop('Много чатов')
      const token = makeToken()
      await x.connect(busy, token, '7400000')
      for (let i = 1; i < 40; i++) expect((await x.post(`/shops/${busy}/telegram/chats`, { chatId: String(7_400_000 + i) })).status).toBe(201)
      const o = await x.post(`/shops/${busy}/orders`, { number: 'BL-1', total: 100, customerName: 'Ян' })
      expect(o.json.telegramStatus).toBe('sent')
      expect((await x.request('PATCH', `/shops/${busy}/orders/${o.json.order.id}`, { status: 'accepted' })).status).toBe(200)
      const [edits] = await x.sql<{ n: number }[]>`
        select count(*)::int as n from telegram_outbox where shop_id = ${busy} and kind = 'order_status' and state = 'pending'`
      expect(edits!.n).toBe(40)
      // another shop's new order, left to the dispatcher (its chat was busy a moment ago)
      const other = await x.shop('Другой')
      const t2 = makeToken()
      await x.connect(other, t2, '7410000')
      await x.sql`update telegram_chats set next_send_at = now() + interval '200 milliseconds' where shop_id = ${other}`
      const n = await x.post(`/shops/${other}/orders`, { number: 'BL-NEW', total: 100, customerName: 'Ян' })
      expect(n.json.telegramStatus).toBe('pending')
      await x.sql`update telegram_chats set next_send_at = null where shop_id = ${other}`
      // one pass of two: the new order is among them, ahead of 40 older edits
      expect(await x.services.dispatcher.runOnce()).toBe(2)
      expect(h.fake.sent(t2).map((c) => String(c.payload.text))).toEqual([expect.stringContaining('BL-NEW')])
      expect(h.fake.callsOf('editMessageText', token)).toHaveLength(1)
    } finally {
      await x.close()
    }
  })
})
