import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'

/**
 * Concurrent `POST /orders` are written in batches (one statement per batch, DESIGN.md "Write in
 * batches"): every request still gets its own order, its own 404, repeat or 409, and everything the
 * single-row path writes (outbox rows per recipient, reminders, `order.created`).
 */
let h: Harness
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)
const order = (number: string, extra: Record<string, unknown> = {}) => ({ number, total: 1500, customerName: 'Анна', ...extra })

async function connectedShop(chatId: string) {
  const shopId = await h.shop()
  const token = makeToken()
  await h.connect(shopId, token, chatId)
  return { shopId, token }
}

beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

describe('batched intake', () => {
  test('a burst over several shops: each request its own row, 404 / repeat / 409 alone, outbox, reminders and events as one by one', async () => {
    const a = await connectedShop('710000001')
    const b = await connectedShop('710000002')
    const quiet = await h.shop() // no Telegram: its orders are stored and skipped
    const before = { ...h.services.orders.writer.stats }
    const stored = await h.post(`/shops/${a.shopId}/orders`, order('B-dup'))
    expect(stored.status).toBe(201)
    const burst = [
      ...Array.from({ length: 24 }, (_, i) => ({
        shop: [a.shopId, b.shopId, quiet][i % 3]!,
        body: order(`B-${i}`, { deliveryDate: tomorrow, deliveryTime: '12:00–14:00' }),
      })),
      { shop: 999_999, body: order('B-nowhere') },
      { shop: a.shopId, body: order('B-dup') }, // a repeat of a stored order
      { shop: a.shopId, body: order('B-dup', { total: 1 }) }, // the same number, another total
      { shop: b.shopId, body: order('B-twice') }, // the same new order twice in one burst
      { shop: b.shopId, body: order('B-twice') },
    ]
    const rs = await Promise.all(burst.map((x) => h.post(`/shops/${x.shop}/orders`, x.body)))
    // the burst really went in batches of several orders
    const stats = h.services.orders.writer.stats
    expect(stats.orders - before.orders).toBe(burst.length + 1)
    expect(stats.largest).toBeGreaterThan(1)
    for (const [i, r] of rs.slice(0, 24).entries()) {
      expect(r.status).toBe(201)
      expect(r.json.order).toMatchObject({ number: `B-${i}`, shopId: burst[i]!.shop, deliveryTime: '12:00–14:00' })
      expect(r.json.telegramStatus).toBe(burst[i]!.shop === quiet ? 'skipped' : 'sent')
      // the buyer's link names the shop's bot, read in the same statement
      if (burst[i]!.shop === quiet) expect(r.json.order.buyerLink).toBeNull()
      else expect(r.json.order.buyerLink).toStartWith('https://t.me/')
    }
    expect(rs[24]!.status).toBe(404)
    expect(rs[24]!.json.error).toBe('shop_not_found')
    expect(rs[25]!.status).toBe(200)
    expect(rs[25]!.json.order.id).toBe(stored.json.order.id)
    expect(rs[26]!.status).toBe(409)
    expect(rs[26]!.json.error).toBe('order_conflict')
    expect([rs[27]!.status, rs[28]!.status].sort()).toEqual([200, 201])
    expect(rs[27]!.json.order.id).toBe(rs[28]!.json.order.id)

    const created = rs.filter((r) => r.status === 201).map((r) => Number(r.json.order.id))
    expect(created).toHaveLength(25)
    // one order.created per order, sequence 1
    const events = await h.sql<{ order_id: string; seq: number }[]>`
      select order_id, (data->>'sequence')::int as seq from platform_events where type = 'order.created' and order_id = any(${created}::bigint[])`
    expect(events).toHaveLength(25)
    expect(events.every((e) => e.seq === 1)).toBe(true)
    // per order of a connected shop: one new-order row (sent) and one reminder row (tomorrow's window)
    const rows = await h.sql<{ kind: string; state: string; n: number }[]>`
      select kind, state, count(*)::int as n from telegram_outbox where order_id = any(${created}::bigint[]) group by 1, 2 order by 1, 2`
    expect([...rows]).toEqual([
      { kind: 'delivery_reminder', state: 'pending', n: 16 },
      { kind: 'order', state: 'done', n: 17 },
      // the second call if nobody accepts it in time (sql/023), one per order of a connected shop
      { kind: 'order_unaccepted', state: 'pending', n: 17 },
    ])
    // one message per created order of a connected shop, nothing for the repeat, the conflict or the twin
    expect(h.fake.sent(a.token).length + h.fake.sent(b.token).length).toBe(1 + 17)
    const log = await h.sql<{ n: number }[]>`select count(*)::int as n from telegram_send_log where order_id = any(${created}::bigint[]) and status = 'SENT'`
    expect(log[0]!.n).toBe(17)
  }, 30_000)

  test('a hot chat with pacing on: one order of the burst goes out in its request, the others are left to the dispatcher at once', async () => {
    const paced = await createHarness({ delivery: { chatIntervalMs: 1000 } })
    try {
      const shopId = await paced.shop()
      const token = makeToken()
      await paced.connect(shopId, token, '720000001')
      const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => paced.post(`/shops/${shopId}/orders`, order(`H-${i}`))))
      expect(rs.every((r) => r.status === 201)).toBe(true)
      const statuses = rs.map((r) => r.json.telegramStatus)
      expect(statuses.filter((s) => s === 'sent')).toHaveLength(1)
      expect(statuses.filter((s) => s === 'pending')).toHaveLength(11)
      // the rows left behind are free for the dispatcher (no lease held), which sends them one a second
      const free = await paced.sql<{ n: number }[]>`
        select count(*)::int as n from telegram_outbox where shop_id = ${shopId} and kind = 'order' and state = 'pending' and locked_by is null`
      expect(free[0]!.n).toBe(11)
      paced.services.dispatcher.start()
      await eventually(() => paced.fake.sent(token).length >= 3, { timeoutMs: 8000, message: 'the dispatcher sending the rest, paced' })
      const at = paced.fake.sent(token).map((c) => c.at)
      for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(900)
    } finally {
      await paced.close()
    }
  }, 30_000)
})
