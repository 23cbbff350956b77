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

describe('validation', () => {
  const bad: [string, unknown][] = [
    ['negative total', order('V', { total: -1 })],
    ['three decimals', order('V', { total: '1.234' })],
    ['absurd total', order('V', { total: 1e12 })],
    ['total as words', order('V', { total: 'много' })],
    ['empty number', order('')],
    ['number over 64 chars', order('N'.repeat(65))],
    ['blank customer', order('V', { customerName: '   ' })],
    ['customer over 200 chars', order('V', { customerName: 'я'.repeat(201) })],
    ['missing customer', { number: 'V', total: 10 }],
    ['impossible delivery date', order('V', { deliveryDate: '2026-13-45' })],
    ['array body', [1, 2]],
  ]
  for (const [name, body] of bad) {
    test(`${name} → 422 with field details, nothing stored`, async () => {
      const shopId = await h.shop()
      const r = await h.post(`/shops/${shopId}/orders`, body)
      expect(r.status).toBe(422)
      expect(r.json.error).toBe('validation_failed')
      expect(typeof r.json.message).toBe('string')
      expect(Array.isArray(r.json.details)).toBe(true)
      const { count } = one(await h.sql`select count(*)::int as count from orders where shop_id = ${shopId}`)
      expect(count).toBe(0)
    })
  }

  test('customerName is trimmed and the total kept exact', async () => {
    const { shopId } = await connectedShop()
    const r = await h.post(`/shops/${shopId}/orders`, order('V-ok', { customerName: '  Анна  ', total: '1234.5' }))
    expect(r.status).toBe(201)
    expect(r.json.order.customerName).toBe('Анна')
    expect(r.json.order.total).toBe('1234.50')
  })
})
