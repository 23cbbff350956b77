import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, one, expectNoSecrets, type Harness } from '../helpers'

/**
 * Order intake and its one Telegram message, through the HTTP API, with the real grammY client
 * talking to the fake Bot API. Each test uses its own shop and bot token so behaviours do not mix.
 */
let h: Harness
const tokens: string[] = []
const order = (number: string, extra: Record<string, unknown> = {}) => ({ number, total: 2490, customerName: 'Анна', ...extra })

async function connectedShop(chatId = '555000111') {
  const shopId = await h.shop()
  const token = makeToken()
  tokens.push(token)
  await h.connect(shopId, token, chatId)
  return { shopId, token }
}
const _logRows = (orderId: number) => h.sql<{ status: string; error: string | null; attempts: number; sent_at: Date | null; message: string }[]>`
  select status, error, attempts, sent_at, message from telegram_send_log where order_id = ${orderId}`

beforeAll(async () => {
  h = await createHarness()
})
afterAll(async () => {
  // Whatever happened above, no token may have reached a response or a log line.
  expectNoSecrets([...h.responses, ...h.logs], tokens)
  await h.close()
})

describe('idempotency', () => {
  test('50 identical concurrent orders make one order, one message, one log row', async () => {
    const { shopId, token } = await connectedShop()
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
    const { shopId, token } = await connectedShop()
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
    const { shopId } = await connectedShop()
    await h.post(`/shops/${shopId}/orders`, order('C-2', { total: 2490 }))
    const r = await h.post(`/shops/${shopId}/orders`, order('C-2', { total: '2490.00' }))
    expect(r.status).toBe(200)
  })
})
