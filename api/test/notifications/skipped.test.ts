import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { one, type Harness } from '../helpers'
import { createIntakeHarness, order, type IntakeHarness } from '../orders/fixtures'

/** Orders that send no Telegram message: no integration, a disabled one, no chat yet; an unknown shop stores nothing. */
let intake: IntakeHarness
let h: Harness
beforeAll(async () => ({ h } = intake = await createIntakeHarness()))
afterAll(() => intake.close())

describe('skipped notifications', () => {
  test('no integration: the order is stored and telegramStatus is skipped', async () => {
    const shopId = await h.shop()
    const r = await h.post(`/shops/${shopId}/orders`, order('S-1'))
    expect(r.status).toBe(201)
    expect(r.json.telegramStatus).toBe('skipped')
    const { count } = one(await h.sql`select count(*)::int as count from telegram_outbox where shop_id = ${shopId}`)
    expect(count).toBe(0)
  })

  test('disabled integration or no chat yet: skipped, nothing sent', async () => {
    const disabled = await h.shop()
    const t1 = intake.newToken()
    await h.connect(disabled, t1, '42', false)
    const waiting = await h.shop()
    const t2 = intake.newToken()
    await h.connect(waiting, t2, null)
    for (const shopId of [disabled, waiting]) {
      const r = await h.post(`/shops/${shopId}/orders`, order('S-2'))
      expect(r.json.telegramStatus).toBe('skipped')
    }
    expect(h.fake.sent(t1).length + h.fake.sent(t2).length).toBe(0)
  })

  test('an unknown shop is 404 and stores nothing', async () => {
    const r = await h.post('/shops/987654/orders', order('X-1'))
    expect(r.status).toBe(404)
    expect(r.json.error).toBe('shop_not_found')
    const { count } = one(await h.sql`select count(*)::int as count from orders where number = 'X-1'`)
    expect(count).toBe(0)
  })
})
