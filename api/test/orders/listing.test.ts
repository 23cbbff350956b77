import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Harness } from '../helpers'
import { createIntakeHarness, order, type IntakeHarness } from './fixtures'

/** Listing a shop's orders: newest first, with their notification, in stable pages. */
let intake: IntakeHarness
let h: Harness
beforeAll(async () => ({ h } = intake = await createIntakeHarness()))
afterAll(() => intake.close())

describe('listing', () => {
  test('orders come newest first with their notification, pages are stable under inserts', async () => {
    const { shopId } = await intake.connectedShop()
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
