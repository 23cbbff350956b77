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

async function _connectedShop(chatId = '555000111') {
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
    const t1 = makeToken()
    tokens.push(t1)
    await h.connect(disabled, t1, '42', false)
    const waiting = await h.shop()
    const t2 = makeToken()
    tokens.push(t2)
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
