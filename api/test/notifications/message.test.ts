import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Harness } from '../helpers'
import { createIntakeHarness, order, type IntakeHarness } from '../orders/fixtures'

/** What the order's one Telegram message says: user fields escaped as typed, rubles, optional fields, within 4096 characters. */
let intake: IntakeHarness
let h: Harness
beforeAll(async () => ({ h } = intake = await createIntakeHarness()))
afterAll(() => intake.close())

describe('the message', () => {
  test('user fields are escaped and arrive exactly as typed', async () => {
    const { shopId, token } = await intake.connectedShop()
    await h.post(`/shops/${shopId}/orders`, order('<i>7</i>', { customerName: '<b>Bob</b> & <script>', comment: 'a "quote" & <tag>' }))
    const text = String(h.fake.sent(token)[0]!.payload.text)
    expect(text).toContain('Клиент: &lt;b&gt;Bob&lt;/b&gt; &amp; &lt;script&gt;')
    expect(text).toContain('№&lt;i&gt;7&lt;/i&gt;')
    expect(text).toContain('Комментарий: a &quot;quote&quot; &amp; &lt;tag&gt;')
    expect(text).not.toContain('<script>')
  })

  test('totals are formatted as rubles and optional fields are shown', async () => {
    const { shopId, token } = await intake.connectedShop()
    await h.post(
      `/shops/${shopId}/orders`,
      order('M-1', {
        total: '1234.50',
        customerPhone: '+7 900 000-00-00',
        recipientName: 'Мария',
        deliveryDate: '2026-12-31',
        deliveryTime: '14:00–16:00',
        address: 'ул. Ленина, 1',
      }),
    )
    await h.post(`/shops/${shopId}/orders`, order('M-2', { total: 2490 }))
    const [first, second] = h.fake.sent(token).map((c) => String(c.payload.text))
    expect(first).toContain('Сумма: <b>1\u00a0234,50\u00a0₽</b>')
    expect(first).toContain('Клиент: ')
    expect(first).toContain(', +7 900 000-00-00')
    expect(first).toContain('Получатель: Мария')
    expect(first).toContain('Доставка: 31.12.2026, 14:00–16:00')
    expect(first).toContain('Адрес: ул. Ленина, 1')
    expect(first).toContain(' · Тестовый магазин')
    expect(second).toContain('Сумма: <b>2\u00a0490\u00a0₽</b>')
    expect(second).not.toContain('+7 900')
  })

  test('the longest possible order still fits Telegram’s 4096 characters', async () => {
    const { shopId, token } = await intake.connectedShop()
    const huge = '&'.repeat(2000)
    const r = await h.post(
      `/shops/${shopId}/orders`,
      order('L'.repeat(64), {
        customerName: '<'.repeat(200),
        address: '>'.repeat(500),
        comment: huge,
        recipientName: '"'.repeat(200),
        deliveryTime: '&'.repeat(50),
      }),
    )
    expect(r.json.telegramStatus).toBe('sent')
    const text = String(h.fake.sent(token)[0]!.payload.text)
    expect(text.length).toBeLessThanOrEqual(4096)
    expect(text).toContain('Сумма')
  })
})
