import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { one, type Harness } from '../helpers'
import { createIntakeHarness, order, type IntakeHarness } from './fixtures'

/** The same order posted again, or many times at once, is one order, one message, one log row; a conflicting repeat is 409. */
let intake: IntakeHarness
let h: Harness
beforeAll(async () => ({ h } = intake = await createIntakeHarness()))
afterAll(() => intake.close())

describe('idempotency', () => {
  test('50 identical concurrent orders make one order, one message, one log row', async () => {
    const { shopId, token } = await intake.connectedShop()
    h.fake.behave(token, { kind: 'slow', ms: 30 })
    const results = await Promise.all(Array.from({ length: 50 }, () => h.post(`/shops/${shopId}/orders`, order('RACE-1'))))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 201).length).toBe(1)
    expect(statuses.filter((s) => s === 200).length).toBe(49)
    expect(new Set(results.map((r) => r.json.order.id)).size).toBe(1)
    const { orders, logs, outbox } = one(
      await h.sql`
      select (select count(*)::int from orders where shop_id = ${shopId}) as orders,
             (select count(*)::int from telegram_send_log where shop_id = ${shopId}) as logs,
             (select count(*)::int from telegram_outbox where shop_id = ${shopId} and kind = 'order') as outbox`,
    )
    expect({ orders, logs, outbox }).toEqual({ orders: 1, logs: 1, outbox: 1 })
    expect(h.fake.sent(token).length).toBe(1)
  })

  test('the same number with a different total or customer is 409 and keeps the first order', async () => {
    const { shopId, token } = await intake.connectedShop()
    await h.post(`/shops/${shopId}/orders`, order('C-1'))
    const otherTotal = await h.post(`/shops/${shopId}/orders`, order('C-1', { total: 2500 }))
    const otherName = await h.post(`/shops/${shopId}/orders`, order('C-1', { customerName: 'Борис' }))
    for (const r of [otherTotal, otherName]) {
      expect(r.status).toBe(409)
      expect(r.json.error).toBe('order_conflict')
      expect(r.json.message).toContain('C-1')
    }
    const rows = await h.sql`select total::text, customer_name from orders where shop_id = ${shopId}`
    expect([...rows]).toEqual([{ total: '2490.00', customer_name: 'Анна' }])
    expect(h.fake.sent(token).length).toBe(1)
  })

  test('2490 and "2490.00" are the same total for a repeat', async () => {
    const { shopId } = await intake.connectedShop()
    await h.post(`/shops/${shopId}/orders`, order('C-2', { total: 2490 }))
    const r = await h.post(`/shops/${shopId}/orders`, order('C-2', { total: '2490.00' }))
    expect(r.status).toBe(200)
  })
})
