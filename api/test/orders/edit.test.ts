import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, one, type Harness } from '../helpers'

/** Orders change: PATCH takes any field; reminders follow the slot; a closed order refuses; one order reads by id and number. */
let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

/** A day well ahead, so every slot on it is in the future whatever the clock says. */
const ahead = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)

async function shopWithBot() {
  const shop = await h.shop('Правки')
  await h.connect(shop, makeToken(), String(8_100_000 + shop))
  return shop
}

describe('order edits', () => {
  test('moving the delivery slot moves the reminder; clearing it drops the reminder', async () => {
    const shop = await shopWithBot()
    const day = ahead(3)
    const o = await h.post(`/shops/${shop}/orders`, { number: 'E-1', total: 100, customerName: 'Анна', deliveryDate: day, deliveryTime: '10:00–12:00' })
    const due = async () =>
      (
        await h.sql<{ at: string }[]>`
        select to_char(next_attempt_at at time zone 'Europe/Moscow', 'YYYY-MM-DD HH24:MI') as at from telegram_outbox
        where order_id = ${o.json.order.id} and kind = 'delivery_reminder' and state = 'pending'`
      ).map((r) => r.at)
    expect(await due()).toEqual([`${day} 09:00`])
    const later = ahead(4)
    const r = await h.request('PATCH', `/shops/${shop}/orders/${o.json.order.id}`, { deliveryDate: later, deliveryTime: '15:00-17:00' })
    expect(r.status).toBe(200)
    expect(r.json.order).toMatchObject({ deliveryDate: later, deliveryTime: '15:00–17:00' })
    expect(await due()).toEqual([`${later} 14:00`])
    await h.request('PATCH', `/shops/${shop}/orders/${o.json.order.id}`, { deliveryTime: null })
    expect(await due()).toEqual([])
  })

  test('a done or cancelled order refuses field edits with 409 order_closed and changes nothing', async () => {
    const shop = await shopWithBot()
    const o = await h.post(`/shops/${shop}/orders`, { number: 'E-2', total: 100, customerName: 'Анна', address: 'ул. Первая' })
    await h.request('PATCH', `/shops/${shop}/orders/${o.json.order.id}`, { status: 'cancelled' })
    const r = await h.request('PATCH', `/shops/${shop}/orders/${o.json.order.id}`, { address: 'ул. Вторая' })
    expect(r.status).toBe(409)
    expect(r.json.error).toBe('order_closed')
    expect(one(await h.sql`select address from orders where id = ${o.json.order.id}`).address).toBe('ул. Первая')
    expect(one(await h.sql`select count(*)::int as n from platform_events where order_id = ${o.json.order.id} and type = 'order.updated'`).n).toBe(0)
  })

  test('bad values are 422 naming the field; an empty PATCH is 422; nothing changes', async () => {
    const shop = await shopWithBot()
    const o = await h.post(`/shops/${shop}/orders`, { number: 'E-3', total: 100, customerName: 'Анна' })
    const bad = await h.request('PATCH', `/shops/${shop}/orders/${o.json.order.id}`, { total: -5 })
    expect(bad.status).toBe(422)
    expect(bad.json.details[0].path).toBe('total')
    expect((await h.request('PATCH', `/shops/${shop}/orders/${o.json.order.id}`, { deliveryTime: '25:00' })).status).toBe(422)
    expect((await h.request('PATCH', `/shops/${shop}/orders/${o.json.order.id}`, {})).status).toBe(422)
    expect(one(await h.sql`select total::text as t, event_seq from orders where id = ${o.json.order.id}`).t).toBe('100.00')
  })

  test('items and total edits are recorded, the status moves in the same PATCH, and each has its event in order', async () => {
    const shop = await shopWithBot()
    const o = await h.post(`/shops/${shop}/orders`, { number: 'E-4', total: 100, customerName: 'Анна' })
    const r = await h.request('PATCH', `/shops/${shop}/orders/${o.json.order.id}`, {
      total: '150.50',
      items: [{ name: 'Розы', quantity: 7, price: 21.5 }],
      status: 'accepted',
      by: 'Ольга',
    })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ changed: true, changedFields: ['total', 'items'], order: { total: '150.50', status: 'accepted' } })
    const events = await h.sql<{ type: string; seq: number }[]>`
      select type, (data->>'sequence')::int as seq from platform_events where order_id = ${o.json.order.id} and type like 'order.%' order by id`
    expect(events.map((e) => e.type)).toEqual(['order.created', 'order.updated', 'order.status_changed'])
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b))
    const changed = one(await h.sql`select data from platform_events where order_id = ${o.json.order.id} and type = 'order.status_changed'`).data
    expect(changed.by).toEqual({ source: 'api', name: 'Ольга' })
  })
})

describe('reading one order', () => {
  test('by id (404 for another shop’s) and by the POS number', async () => {
    const shop = await shopWithBot()
    const other = await shopWithBot()
    const o = await h.post(`/shops/${shop}/orders`, { number: 'A-1001', total: 100, customerName: 'Анна' })
    const one1 = await h.get(`/shops/${shop}/orders/${o.json.order.id}`)
    expect(one1.status).toBe(200)
    expect(one1.json).toMatchObject({ id: o.json.order.id, number: 'A-1001', notification: { status: 'sent' } })
    expect((await h.get(`/shops/${other}/orders/${o.json.order.id}`)).status).toBe(404)
    const byNumber = await h.get(`/shops/${shop}/orders?number=A-1001`)
    expect(byNumber.json.items.map((i: { id: number }) => i.id)).toEqual([o.json.order.id])
    expect((await h.get(`/shops/${other}/orders?number=A-1001`)).json.items).toEqual([])
  })
})
