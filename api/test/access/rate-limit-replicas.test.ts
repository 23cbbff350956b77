import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHarness, eventually, type Harness } from '../helpers'

/**
 * Two app instances on one database (two replicas behind a balancer): the per-shop limits hold as
 * ONE budget, because each replica takes 1 / (live replicas) of it, counted by heartbeat (sql/024).
 */
const env = {
  ADMIN_TOKEN: 'operator-secret-token-of-32-chars-or-more',
  RATE_LIMIT_ORDERS_PER_MINUTE: '60',
  RATE_LIMIT_ORDERS_BURST: '10',
}
const op = { authorization: 'Bearer operator-secret-token-of-32-chars-or-more' }
let a: Harness
let b: Harness

beforeAll(async () => {
  a = await createHarness({ env })
  b = await createHarness({ env, restartOf: { db: a.db, cipherKey: a.cipherKey } })
  a.services.replicas.start()
  b.services.replicas.start()
  // each sees the other once both have beaten
  await eventually(async () => (await a.services.replicas.beat()) === 2 && (await b.services.replicas.beat()) === 2, {
    message: 'both replicas counting two',
    timeoutMs: 10_000,
  })
})
afterAll(async () => {
  await b.close()
  await a.close()
})

describe('rate limits across replicas', () => {
  test('40 orders of one shop spread over two replicas: the burst of 10 is stored once in total, not once per replica', async () => {
    expect(a.services.replicas.share()).toBe(0.5)
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? b : a).request('POST', '/shops/1/orders', { number: `RR-${i}`, total: 10, customerName: 'Анна' }, op)),
    )
    const created = rs.filter((r) => r.status === 201).length
    expect(created).toBeGreaterThanOrEqual(10)
    expect(created).toBeLessThanOrEqual(12) // a token may refill on each replica while the 40 are handled
    expect(rs.filter((r) => r.status === 429)).toHaveLength(40 - created)
    const [{ n }] = (await a.sql`select count(*)::int as n from orders where shop_id = 1 and number like 'RR-%'`) as unknown as [{ n: number }]
    expect(n).toBe(created)
  }, 30_000)

  test('a replica that stops gives its share back: the one left takes the whole budget', async () => {
    await b.services.replicas.stop()
    expect(await a.services.replicas.beat()).toBe(1)
    expect(a.services.replicas.share()).toBe(1)
    const shop = await a.shop()
    const rs = await Promise.all(
      Array.from({ length: 15 }, (_, i) => a.request('POST', `/shops/${shop}/orders`, { number: `RS-${i}`, total: 10, customerName: 'Анна' }, op)),
    )
    const created = rs.filter((r) => r.status === 201).length
    expect(created).toBeGreaterThanOrEqual(10)
    expect(created).toBeLessThanOrEqual(11)
  }, 30_000)
})
