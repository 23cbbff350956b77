import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B, makeToken } from '../fake-telegram'
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
const logRows = (orderId: number) => h.sql<{ status: string; error: string | null; attempts: number; sent_at: Date | null; message: string }[]>`
  select status, error, attempts, sent_at, message from telegram_send_log where order_id = ${orderId}`

beforeAll(async () => {
  h = await createHarness()
})
afterAll(async () => {
  // Whatever happened above, no token may have reached a response or a log line.
  expectNoSecrets([...h.responses, ...h.logs], tokens)
  await h.close()
})

describe('resend', () => {
  test('a FAILED notification is re-queued by the owner and becomes SENT; a sent one is 409', async () => {
    const { shopId, token } = await connectedShop()
    h.fake.behaveMethod(token, 'sendMessage', B.blocked)
    const r = await h.post(`/shops/${shopId}/orders`, order('RE-1'))
    expect(r.json.telegramStatus).toBe('failed')
    h.fake.behaveMethod(token, 'sendMessage', B.ok)
    const again = await h.post(`/shops/${shopId}/orders/${r.json.order.id}/telegram/resend`)
    expect(again.status).toBe(200)
    expect(again.json.telegramStatus).toBe('sent')
    const [row] = await logRows(r.json.order.id)
    expect(row!.status).toBe('SENT')
    const twice = await h.post(`/shops/${shopId}/orders/${r.json.order.id}/telegram/resend`)
    expect(twice.status).toBe(409)
    expect(twice.json.error).toBe('already_sent')
    expect(h.fake.sent(token).length).toBe(2)
  })

  test('resend of an unknown order is 404, of an order of another shop too', async () => {
    const { shopId } = await connectedShop()
    const other = await connectedShop()
    const r = await h.post(`/shops/${other.shopId}/orders`, order('RE-2'))
    expect((await h.post(`/shops/${shopId}/orders/999999/telegram/resend`)).status).toBe(404)
    expect((await h.post(`/shops/${shopId}/orders/${r.json.order.id}/telegram/resend`)).status).toBe(404)
  })
})
