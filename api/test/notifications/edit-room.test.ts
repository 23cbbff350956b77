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
})
