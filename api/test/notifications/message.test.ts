import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, expectNoSecrets, type Harness } from '../helpers'

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

describe('the message', () => {
  test('user fields are escaped and arrive exactly as typed', async () => {
    const { shopId, token } = await connectedShop()
    await h.post(`/shops/${shopId}/orders`, order('<i>7</i>', { customerName: '<b>Bob</b> & <script>', comment: 'a "quote" & <tag>' }))
    const text = String(h.fake.sent(token)[0]!.payload.text)
    expect(text).toContain('Клиент: &lt;b&gt;Bob&lt;/b&gt; &amp; &lt;script&gt;')
    expect(text).toContain('№&lt;i&gt;7&lt;/i&gt;')
    expect(text).toContain('Комментарий: a &quot;quote&quot; &amp; &lt;tag&gt;')
    expect(text).not.toContain('<script>')
  })

  test('totals are formatted as rubles and optional fields are shown', async () => {
    const { shopId, token } = await connectedShop()
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
    const { shopId, token } = await connectedShop()
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
