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

describe('listing', () => {
  test('orders come newest first with their notification, pages are stable under inserts', async () => {
    const { shopId } = await connectedShop()
    for (let i = 1; i <= 5; i++) await h.post(`/shops/${shopId}/orders`, order(`LS-${i}`))
    const p1 = await h.get(`/shops/${shopId}/orders?limit=2`)
    expect(p1.json.items.map((o: { number: string }) => o.number)).toEqual(['LS-5', 'LS-4'])
    expect(p1.json.items[0].notification.status).toBe('sent')
    await h.post(`/shops/${shopId}/orders`, order('LS-6'))
    const p2 = await h.get(`/shops/${shopId}/orders?limit=2&cursor=${p1.json.nextCursor}`)
    expect(p2.json.items.map((o: { number: string }) => o.number)).toEqual(['LS-3', 'LS-2'])
    const p3 = await h.get(`/shops/${shopId}/orders?limit=2&cursor=${p2.json.nextCursor}`)
    expect(p3.json.items.map((o: { number: string }) => o.number)).toEqual(['LS-1'])
    expect(p3.json.nextCursor).toBeNull()
    expect((await h.get(`/shops/${shopId}/orders?limit=0`)).status).toBe(400)
    expect((await h.get(`/shops/${shopId}/orders?cursor=abc`)).status).toBe(400)
  })
})
