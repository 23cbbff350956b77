import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { findIntegration } from '../../src/connect'
import { makeToken } from '../fake-telegram'
import { createHarness, one, type Harness } from '../helpers'
import { COURIER_CHAT, courierShop, STAFF_CHAT } from './fixtures'

/**
 * The second call: an order still `new` `acceptWithinMinutes` after it came in is raised once more in
 * the staff chats (a reply to its message, with sound even in quiet hours), once whatever restarts and
 * replicas do, and never once accepted. Also the settings and the recipient role it depends on.
 */
let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

const STAFF_GROUP = '-1009990001'

async function shopWithOrder(number: string, acceptWithinMinutes: number | null = 1) {
  const s = await courierShop(h, { acceptWithinMinutes })
  // a staff group that gets new orders, inside its quiet hours all day
  expect((await h.post(`/shops/${s.shopId}/telegram/chats`, { chatId: STAFF_GROUP, quietHours: { from: '00:00', to: '23:59' } })).status).toBe(201)
  const r = await h.post(`/shops/${s.shopId}/orders`, { number, total: 1000, customerName: 'Клиент' })
  expect(r.status).toBe(201)
  return { ...s, orderId: r.json.order.id as number }
}

/** Both dispatchers run passes until nothing is left (what they do to one chat at a time). */
async function drain(...hs: Harness[]) {
  for (let i = 0; i < 30; i++) {
    const claimed = await Promise.all(hs.map((x) => x.services.dispatcher.runOnce()))
    if (claimed.every((c) => c === 0)) break
  }
}

const raised = (token: string) => h.fake.sent(token).filter((c) => String(c.payload.text).startsWith('⏰'))
const due = (orderId: number) => h.sql`update telegram_outbox set next_attempt_at = now() where order_id = ${orderId} and kind = 'order_unaccepted'`

describe('an order nobody accepts', () => {
  test('is due acceptWithinMinutes after it came in, in each staff chat that gets new orders, not in the couriers’ chat', async () => {
    const { orderId, shopId } = await shopWithOrder('U-1', 20)
    const rows = await h.sql<{ chat_id: string; minutes: number }[]>`
      select c.chat_id, round(extract(epoch from d.next_attempt_at - o.created_at) / 60)::int as minutes
      from telegram_outbox d join telegram_chats c on c.id = d.chat_ref join orders o on o.id = d.order_id
      where d.order_id = ${orderId} and d.kind = 'order_unaccepted' order by c.id`
    expect(rows.map((r) => [r.chat_id, r.minutes])).toEqual([
      [STAFF_CHAT, 20],
      [STAFF_GROUP, 20],
    ])
    expect(rows.some((r) => r.chat_id === COURIER_CHAT)).toBe(false)
    expect(shopId).toBeGreaterThan(0)
  }, 20_000)

  test('is raised exactly once per staff chat, as a reply to its message and with sound in quiet hours, across a restart and with two dispatchers', async () => {
    const { token, orderId } = await shopWithOrder('U-2')
    await due(orderId)
    const replica = await createHarness({ restartOf: { db: h.db, cipherKey: h.cipherKey }, fake: h.fake })
    await drain(h, replica)
    await replica.stop()
    // a restart on the same data: nothing more
    const restarted = await createHarness({ restartOf: { db: h.db, cipherKey: h.cipherKey }, fake: h.fake })
    await drain(restarted, h)
    await restarted.stop()
    const calls = raised(token)
    expect(calls.map((c) => String(c.payload.chat_id)).sort()).toEqual([STAFF_GROUP, STAFF_CHAT].sort())
    for (const c of calls) {
      expect(String(c.payload.text)).toContain('Заказ №U-2 никто не принял')
      expect(c.payload.disable_notification).toBeUndefined()
      const messageId = one(
        await h.sql`select m.message_id from telegram_messages m join telegram_chats ch on ch.id = m.chat_ref
        where m.order_id = ${orderId} and ch.chat_id = ${String(c.payload.chat_id)}`,
      ).message_id
      expect((c.payload.reply_parameters as { message_id: number }).message_id).toBe(Number(messageId))
    }
    // the order's own message in the quiet group went silently; the second call did not
    const first = h.fake.sent(token).find((c) => String(c.payload.chat_id) === STAFF_GROUP && String(c.payload.text).includes('Новый заказ'))!
    expect(first.payload.disable_notification).toBe(true)
    const ev = await h.sql`select data from platform_events where order_id = ${orderId} and type = 'order.unaccepted'`
    expect(ev).toHaveLength(1)
    expect(ev[0]!.data).toMatchObject({ afterMinutes: 1, number: 'U-2' })
    expect(one(await h.sql`select unaccepted_at from orders where id = ${orderId}`).unaccepted_at).not.toBeNull()
  }, 20_000)

  test('is not raised at all once accepted (also when its row was already due and is sent late)', async () => {
    const a = await shopWithOrder('U-3')
    expect((await h.request('PATCH', `/shops/${a.shopId}/orders/${a.orderId}`, { status: 'accepted' })).status).toBe(200)
    await due(a.orderId)
    // the row accepted in time is settled; one forced back to pending is skipped by the order's status at send time
    await h.sql`update telegram_outbox set state = 'pending' where order_id = ${a.orderId} and kind = 'order_unaccepted' and chat_ref =
      (select id from telegram_chats where shop_id = ${a.shopId} and chat_id = ${STAFF_CHAT})`
    await drain(h)
    expect(raised(a.token)).toHaveLength(0)
    expect(await h.sql`select 1 from platform_events where order_id = ${a.orderId} and type = 'order.unaccepted'`).toHaveLength(0)
    expect((await h.sql`select state from telegram_outbox where order_id = ${a.orderId} and kind = 'order_unaccepted'`).map((r) => r.state)).toEqual([
      'done',
      'done',
    ])
  }, 20_000)

  test('switched off (acceptWithinMinutes: null), nothing is scheduled', async () => {
    const { orderId } = await shopWithOrder('U-4', null)
    expect(await h.sql`select 1 from telegram_outbox where order_id = ${orderId} and kind = 'order_unaccepted'`).toHaveLength(0)
  }, 20_000)
})

describe('settings and roles', () => {
  test('acceptWithinMinutes defaults to 15, takes 1–240 or null, and nothing else', async () => {
    const shop = await h.shop()
    const get = await h.get(`/shops/${shop}/telegram/settings`)
    expect(get.json.acceptWithinMinutes).toBe(15)
    for (const bad of [0, 241, 1.5, '15']) expect((await h.request('PATCH', `/shops/${shop}/telegram/settings`, { acceptWithinMinutes: bad })).status).toBe(422)
    expect((await h.request('PATCH', `/shops/${shop}/telegram/settings`, { acceptWithinMinutes: 240 })).json.acceptWithinMinutes).toBe(240)
    expect((await h.request('PATCH', `/shops/${shop}/telegram/settings`, { reminderLeadMinutes: 30 })).json.acceptWithinMinutes).toBe(240)
    expect((await h.request('PATCH', `/shops/${shop}/telegram/settings`, { acceptWithinMinutes: null })).json.acceptWithinMinutes).toBeNull()
  }, 20_000)

  test('a recipient is staff by default; a courier chat has no staff events; back to staff it gets them all', async () => {
    const shop = await h.shop()
    await h.connect(shop, makeToken('R'), '5050')
    const list = await h.get(`/shops/${shop}/telegram/chats`)
    expect(list.json.items[0].role).toBe('staff')
    const c = await h.post(`/shops/${shop}/telegram/chats`, { chatId: '-1005550001', role: 'courier', events: ['order_created'] })
    expect(c.json).toMatchObject({ role: 'courier', events: [] })
    const staff = await h.request('PATCH', `/shops/${shop}/telegram/chats/${c.json.id}`, { role: 'staff' })
    expect(staff.json).toMatchObject({ role: 'staff', events: ['order_created', 'order_status', 'order_cancelled', 'delivery_reminder', 'daily_summary'] })
    const back = await h.request('PATCH', `/shops/${shop}/telegram/chats/${c.json.id}`, { role: 'courier' })
    expect(back.json).toMatchObject({ role: 'courier', events: [] })
    expect((await h.request('PATCH', `/shops/${shop}/telegram/chats/${c.json.id}`, { role: 'boss' })).status).toBe(422)
  }, 20_000)

  test('a courier chat gets no order message, status line, reminder or summary, and the bot’s commands do not answer there', async () => {
    const { token, shopId } = await courierShop(h)
    const r = await h.post(`/shops/${shopId}/orders`, { number: 'U-9', total: 1000, customerName: 'Клиент', address: 'ул. Мира, 1' })
    await h.request('PATCH', `/shops/${shopId}/orders/${r.json.order.id}`, { status: 'cancelled' })
    await h.post(`/shops/${shopId}/telegram/summary`)
    await drain(h)
    const integration = (await findIntegration(h.sql, shopId))!
    for (const text of ['/today', '/orders', '/order U-9'])
      await h.services.updates.handle(integration, {
        update_id: Math.floor(Math.random() * 1e9),
        message: { message_id: 1, chat: { id: Number(COURIER_CHAT), type: 'supergroup' }, text },
      })
    await h.services.updates.settle()
    expect(h.fake.calls.filter((c) => c.token === token && String(c.payload.chat_id) === COURIER_CHAT)).toHaveLength(0)
  }, 20_000)
})
