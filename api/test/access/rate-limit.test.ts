import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { bucketOf, RateLimiter } from '../../src/platform/http/rate-limit'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'

describe('per-shop rate limits', () => {
  let h: Harness
  let token: string
  beforeAll(async () => {
    h = await createHarness({
      env: {
        ADMIN_TOKEN: 'operator-secret-token-0123456789abcdef',
        RATE_LIMIT_ORDERS_PER_MINUTE: '60',
        RATE_LIMIT_ORDERS_BURST: '10',
        RATE_LIMIT_WRITES_PER_MINUTE: '60',
        RATE_LIMIT_WRITES_BURST: '5',
        TEST_MESSAGE_INTERVAL_MS: '5000',
      },
    })
    token = makeToken()
    const r = await h.request(
      'POST',
      '/shops/1/telegram/connect',
      { botToken: token, chatId: '4242', enabled: true },
      { authorization: 'Bearer operator-secret-token-0123456789abcdef' },
    )
    expect(r.status).toBe(200)
  })
  afterAll(() => h.close())
  const op = { authorization: 'Bearer operator-secret-token-0123456789abcdef' }

  test('30 test-message calls at once put one message into the chat; the rest are 429 with Retry-After', async () => {
    const before = h.fake.sent(token).length
    const rs = await Promise.all(Array.from({ length: 30 }, () => h.request('POST', '/shops/1/telegram/test', {}, op)))
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1)
    const limited = rs.filter((r) => r.status === 429)
    expect(limited).toHaveLength(29)
    expect(limited[0]!.json.error).toBe('rate_limited')
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(h.fake.sent(token).length - before).toBe(1)
  })

  test('40 parallel orders beyond the burst: the burst is stored, the rest are 429 and stored nowhere', async () => {
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => h.request('POST', '/shops/1/orders', { number: `RL-${i}`, total: 10, customerName: 'Анна' }, op)),
    )
    const created = rs.filter((r) => r.status === 201).length
    expect(created).toBeGreaterThanOrEqual(10)
    expect(created).toBeLessThanOrEqual(11) // one more token may refill while the 40 are handled
    expect(rs.filter((r) => r.status === 429)).toHaveLength(40 - created)
    const n = (await h.sql<{ n: number }[]>`select count(*)::int as n from orders where shop_id = 1 and number like 'RL-%'`)[0]!.n
    expect(n).toBe(created)
  })

  test('requests refused by auth spend no budget of the shop', async () => {
    const shop = await h.shop()
    const strangers = await Promise.all(Array.from({ length: 20 }, () => h.request('POST', `/shops/${shop}/telegram/link`, {})))
    expect(strangers.every((r) => r.status === 401)).toBe(true)
    const r = await h.request('POST', `/shops/${shop}/telegram/link`, {}, op)
    expect(r.status).toBe(409) // reached the route: no bot connected yet
  })

  test('a token bucket refills with time (injected clock)', () => {
    let now = 0
    const limiter = new RateLimiter(() => now)
    const limit = { perMs: 1 / 1000, burst: 2 }
    expect(limiter.take('s', limit)).toBe(0)
    expect(limiter.take('s', limit)).toBe(0)
    expect(limiter.take('s', limit)).toBe(1000)
    now += 500
    expect(limiter.take('s', limit)).toBe(500)
    now += 500
    expect(limiter.take('s', limit)).toBe(0)
    expect(limiter.take('other', limit)).toBe(0)
  })

  test('reads are never limited; writes, orders and test messages draw from separate buckets', () => {
    const limits = { ordersPerMinute: 60, ordersBurst: 1, writesPerMinute: 60, writesBurst: 1, testIntervalMs: 3000 }
    expect(bucketOf('GET', '/shops/1/orders', limits)).toBeNull()
    expect(bucketOf('POST', '/shops/1/orders', limits)?.key).toBe('1:orders')
    expect(bucketOf('POST', '/shops/1/telegram/test', limits)?.key).toBe('1:test')
    expect(bucketOf('PATCH', '/shops/1/orders/5', limits)?.key).toBe('1:writes')
    expect(bucketOf('POST', '/session', limits)).toBeNull()
    expect(bucketOf('POST', '/shops/1/orders', { ...limits, ordersPerMinute: 0 })).toBeNull()
  })
})
