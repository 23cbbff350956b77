import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B } from '../fake-telegram'
import { one, type Harness } from '../helpers'
import { createIntakeHarness, order, type IntakeHarness } from './fixtures'

/** Order intake through the HTTP API, with its one Telegram message through the real grammY client and the fake Bot API. */
let intake: IntakeHarness
let h: Harness
beforeAll(async () => ({ h } = intake = await createIntakeHarness()))
afterAll(() => intake.close())

describe('order intake', () => {
  test('a new order calls Telegram once and writes SENT', async () => {
    const { shopId, token } = await intake.connectedShop()
    const r = await h.post(`/shops/${shopId}/orders`, order('A-1'))
    expect(r.status).toBe(201)
    expect(r.json.telegramStatus).toBe('sent')
    expect(r.json.order).toMatchObject({ number: 'A-1', total: '2490.00', customerName: 'Анна', shopId })
    const sent = h.fake.sent(token)
    expect(sent.length).toBe(1)
    expect(sent[0]!.payload).toMatchObject({ chat_id: '555000111', parse_mode: 'HTML' })
    expect(String(sent[0]!.payload.text)).toContain('№A-1')
    const [row] = await intake.logRows(r.json.order.id)
    expect(row!.status).toBe('SENT')
    expect(row!.sent_at).not.toBeNull()
    expect(row!.attempts).toBe(1)
  })

  test('a repeated order answers 200 with the stored order and sends nothing', async () => {
    const { shopId, token } = await intake.connectedShop()
    const first = await h.post(`/shops/${shopId}/orders`, order('A-2'))
    const again = await h.post(`/shops/${shopId}/orders`, order('A-2'))
    expect(first.status).toBe(201)
    expect(again.status).toBe(200)
    expect(again.json.order.id).toBe(first.json.order.id)
    expect(again.json.telegramStatus).toBe('sent')
    expect(h.fake.sent(token).length).toBe(1)
    const { count } = one(await h.sql`select count(*)::int as count from orders where shop_id = ${shopId}`)
    expect(count).toBe(1)
  })

  test('a Telegram error writes FAILED and the order is still created', async () => {
    const { shopId, token } = await intake.connectedShop()
    h.fake.behaveMethod(token, 'sendMessage', B.chatNotFound)
    const r = await h.post(`/shops/${shopId}/orders`, order('A-3'))
    expect(r.status).toBe(201)
    expect(r.json.telegramStatus).toBe('failed')
    expect(r.json.telegram.error).toContain('chat not found')
    const [row] = await intake.logRows(r.json.order.id)
    expect(row!.status).toBe('FAILED')
    expect(row!.error).toContain('chat not found')
    const [o] = await h.sql`select number from orders where id = ${r.json.order.id}`
    expect(o!.number).toBe('A-3')
  })
})
