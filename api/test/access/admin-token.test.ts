import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import path from 'node:path'
import { createHarness, one, type Harness } from '../helpers'

const _ROOT = path.resolve(import.meta.dir, '../../..')

describe('ADMIN_TOKEN', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness({ env: { ADMIN_TOKEN: 'secret-admin-token-0123456789abcdef' } })
  })
  afterAll(async () => {
    await h.close()
  })

  test('with ADMIN_TOKEN every shop API route needs the bearer, compared exactly', async () => {
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: 'Bearer wrong-token' },
      { authorization: 'secret-admin-token-0123456789abcdef' },
      { authorization: 'Bearer secret-admin-token-0123456789abcdef-and-more' },
    ]) {
      const r = await h.get('/shops/1/telegram/status', headers)
      expect(r.status).toBe(401)
      expect(r.json.error).toBe('unauthorized')
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
    }
    const denied = await h.post('/shops/1/orders', { number: 'AUTH-1', total: 1, customerName: 'x' })
    expect(denied.status).toBe(401)
    const { count } = one(await h.sql`select count(*)::int as count from orders where number = 'AUTH-1'`)
    expect(count).toBe(0)
    const ok = await h.get('/shops/1/telegram/status', { authorization: 'Bearer secret-admin-token-0123456789abcdef' })
    expect(ok.status).toBe(200)
  })

  test('the page, /health and /swagger need no token', async () => {
    expect((await h.get('/health')).status).toBe(200)
    expect((await h.get('/swagger')).status).toBe(200)
    const page = await h.get('/shops/1/growth/telegram')
    expect(page.status).not.toBe(401)
  })

  test('without ADMIN_TOKEN the API is open (and the server listens on loopback)', async () => {
    const open = await createHarness()
    try {
      expect((await open.get('/shops/1/telegram/status')).status).toBe(200)
      expect(open.config.host).toBe('127.0.0.1')
    } finally {
      await open.close()
    }
  })
})
