import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { one, type Harness } from '../helpers'
import { createIntakeHarness, order, type IntakeHarness } from './fixtures'

/** Order bodies refused with 422 and field details, nothing stored; an accepted one is kept exact. */
let intake: IntakeHarness
let h: Harness
beforeAll(async () => ({ h } = intake = await createIntakeHarness()))
afterAll(() => intake.close())

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
    const { shopId } = await intake.connectedShop()
    const r = await h.post(`/shops/${shopId}/orders`, order('V-ok', { customerName: '  Анна  ', total: '1234.5' }))
    expect(r.status).toBe(201)
    expect(r.json.order.customerName).toBe('Анна')
    expect(r.json.order.total).toBe('1234.50')
  })
})
