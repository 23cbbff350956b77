import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B, makeToken } from '../fake-telegram'
import { createHarnessPair, createHarness, type Harness, type HarnessPair } from '../helpers'

/** The Telegram status of a shop: state, 7-day counts, a paused integration, and how late its notifications are. */
let pair: HarnessPair
let hw: Harness
beforeAll(async () => ({ hw } = pair = await createHarnessPair()))
afterAll(() => pair.close())

describe('status', () => {
  test('a shop with no integration: not connected, disabled, zero counts', async () => {
    const shopId = await hw.shop()
    const r = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({
      state: 'not_connected',
      enabled: false,
      chatId: null,
      botUsername: null,
      lastSentAt: null,
      sentCount: 0,
      failedCount: 0,
      connectLink: null,
    })
  })

  test('counts cover the last 7 days only; the chat id is masked', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    await hw.connect(shopId, token, '987654321')
    for (let i = 0; i < 3; i++) await hw.post(`/shops/${shopId}/orders`, { number: `W-${i}`, total: 100, customerName: 'Вера' })
    hw.fake.behaveMethod(token, 'sendMessage', B.blocked)
    await hw.post(`/shops/${shopId}/orders`, { number: 'W-f', total: 100, customerName: 'Вера' })
    hw.fake.behaveMethod(token, 'sendMessage', B.ok)
    // Two rows from 8 days ago (one SENT, one FAILED) must not count.
    await hw.sql`
      with o as (insert into orders (shop_id, number, total, customer_name) values (${shopId}, 'OLD-1', 1, 'x'), (${shopId}, 'OLD-2', 1, 'x') returning id, number)
      insert into telegram_send_log (shop_id, order_id, message, status, sent_at, updated_at)
      select ${shopId}, id, 'old', case when number = 'OLD-1' then 'SENT' else 'FAILED' end, now() - interval '8 days', now() - interval '8 days' from o`
    const r = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(r.json.sentCount).toBe(3)
    expect(r.json.failedCount).toBe(1)
    expect(r.json.chatId).toBe('98…4321')
    expect(r.text.includes('987654321')).toBe(false)
    expect(r.json.state).toBe('failing')
    expect(r.json.lastError).toContain('Разблокировать')
    expect(Date.now() - Date.parse(r.json.lastSentAt)).toBeLessThan(60_000)
    // A later success clears the failing state; the count of the week keeps the failure.
    await hw.post(`/shops/${shopId}/orders`, { number: 'W-ok', total: 100, customerName: 'Вера' })
    const after = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(after.json).toMatchObject({ state: 'active', sentCount: 4, failedCount: 1, lastError: null, lastErrorCode: null })
  })

  test('a disabled integration is paused', async () => {
    const shopId = await hw.shop()
    await hw.connect(shopId, pair.newToken(), '1', false)
    expect((await hw.get(`/shops/${shopId}/telegram/status`)).json.state).toBe('paused')
  })
})

describe('backlog lag', () => {
  test('status says how late the shop’s notifications are when they queue (0 when none waits)', async () => {
    const lh = await createHarness()
    try {
      await lh.connect(1, makeToken(), '9900001')
      expect((await lh.get('/shops/1/telegram/status')).json.deliveryLagSeconds).toBe(0)
      const [o] = await lh.sql<{ id: string }[]>`insert into orders (shop_id, number, total, customer_name) values (1, 'LAG-1', 1, 'x') returning id`
      await lh.sql`insert into telegram_outbox (shop_id, order_id, kind, next_attempt_at) values (1, ${o!.id}, 'order', now() - interval '42 seconds')`
      const lag = (await lh.get('/shops/1/telegram/status')).json.deliveryLagSeconds
      expect(lag).toBeGreaterThanOrEqual(42)
      expect(lag).toBeLessThan(50)
    } finally {
      await lh.close()
    }
  })
})
