import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B } from '../fake-telegram'
import type { Harness } from '../helpers'
import { createIntakeHarness, order, type IntakeHarness } from '../orders/fixtures'

/** Resend by the owner: a FAILED notification becomes SENT; a sent one, an unknown order or another shop's is refused. */
let intake: IntakeHarness
let h: Harness
beforeAll(async () => ({ h } = intake = await createIntakeHarness()))
afterAll(() => intake.close())

describe('resend', () => {
  test('a FAILED notification is re-queued by the owner and becomes SENT; a sent one is 409', async () => {
    const { shopId, token } = await intake.connectedShop()
    h.fake.behaveMethod(token, 'sendMessage', B.blocked)
    const r = await h.post(`/shops/${shopId}/orders`, order('RE-1'))
    expect(r.json.telegramStatus).toBe('failed')
    h.fake.behaveMethod(token, 'sendMessage', B.ok)
    const again = await h.post(`/shops/${shopId}/orders/${r.json.order.id}/telegram/resend`)
    expect(again.status).toBe(200)
    expect(again.json.telegramStatus).toBe('sent')
    const [row] = await intake.logRows(r.json.order.id)
    expect(row!.status).toBe('SENT')
    const twice = await h.post(`/shops/${shopId}/orders/${r.json.order.id}/telegram/resend`)
    expect(twice.status).toBe(409)
    expect(twice.json.error).toBe('already_sent')
    expect(h.fake.sent(token).length).toBe(2)
  })

  test('resend of an unknown order is 404, of an order of another shop too', async () => {
    const { shopId } = await intake.connectedShop()
    const other = await intake.connectedShop()
    const r = await h.post(`/shops/${other.shopId}/orders`, order('RE-2'))
    expect((await h.post(`/shops/${shopId}/orders/999999/telegram/resend`)).status).toBe(404)
    expect((await h.post(`/shops/${shopId}/orders/${r.json.order.id}/telegram/resend`)).status).toBe(404)
  })
})
