import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import path from 'node:path'
import { createHarness, one, type Harness } from '../helpers'

const _ROOT = path.resolve(import.meta.dir, '../../..')

describe('HTTP basics', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(async () => {
    await h.close()
  })

  const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/)

  test('malformed JSON is 400 malformed_body', async () => {
    const r = await h.request('POST', '/shops/1/orders', '{"number": "1", ', { 'content-type': 'application/json' })
    expect(r.status).toBe(400)
    expect(r.json).toEqual({ error: 'malformed_body', message: expect.any(String) })
    noStack(r.text)
  })

  test('absurdly nested JSON is refused at once with 400, not validated', async () => {
    const started = performance.now()
    const r = await h.request('POST', '/shops/1/orders', '['.repeat(20_000) + ']'.repeat(20_000), { 'content-type': 'application/json' })
    expect(r.status).toBe(400)
    expect(r.json.error).toBe('malformed_body')
    expect(r.json.message).toContain('nested deeper')
    expect(performance.now() - started).toBeLessThan(500)
    // Strings that merely contain brackets are not nesting.
    const ok = await h.post('/shops/1/orders', { number: 'NEST-1', total: 1, customerName: '['.repeat(150) })
    expect(ok.status).toBe(201)
  })

  test('an unknown route is 404 with the error shape', async () => {
    for (const [method, p] of [
      ['GET', '/nope'],
      ['POST', '/shops/1/nothing'],
      ['DELETE', '/shops/1/orders'],
    ]) {
      const r = await h.request(method!, p!)
      expect(r.status).toBe(404)
      expect(r.json.error).toBe('not_found')
      expect(typeof r.json.message).toBe('string')
    }
  })

  test('malformed ids are 400, unknown shops 404', async () => {
    for (const id of ['abc', '0', '-1', '1.5', '01', '1e3', '99999999999999999999']) {
      const r = await h.get(`/shops/${id}/telegram/status`)
      expect(r.status).toBe(400)
      expect(r.json.error).toBe('bad_request')
      noStack(r.text)
    }
    // a percent-encoded path is no path we serve (the router would decode it): 404 before anything else
    const encoded = await h.get('/shops/%20/telegram/status')
    expect(encoded.status).toBe(404)
    expect(encoded.json.error).toBe('not_found')
    expect((await h.get('/shops/424242/telegram/status')).json).toEqual({ error: 'shop_not_found', message: expect.any(String) })
    expect((await h.post('/shops/1/orders/abc/telegram/resend')).status).toBe(400)
  })

  test('an oversized body is 413 and stores nothing', async () => {
    const body = JSON.stringify({ number: 'BIG', total: 1, customerName: 'x', comment: 'x'.repeat(100_000) })
    const r = await h.request('POST', '/shops/1/orders', body, { 'content-type': 'application/json', 'content-length': String(body.length) })
    expect(r.status).toBe(413)
    expect(r.json.error).toBe('payload_too_large')
    const { count } = one(await h.sql`select count(*)::int as count from orders where number = 'BIG'`)
    expect(count).toBe(0)
  })

  test('a non-JSON content type is refused with a 4xx', async () => {
    const r = await h.request('POST', '/shops/1/orders', 'number=1&total=2', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(r.status).toBeGreaterThanOrEqual(400)
    expect(r.status).toBeLessThan(500)
    expect(typeof r.json.error).toBe('string')
  })

  test('/health reports the database', async () => {
    expect(await h.get('/health').then((r) => [r.status, r.json])).toEqual([200, { status: 'ok', database: 'ok' }])
  })

  test('/swagger documents every route with real JSON Schemas', async () => {
    const page = await h.get('/swagger')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    const doc = (await h.get('/swagger/json')).json
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    )
    for (const r of [
      'POST /shops/{shopId}/orders',
      'GET /shops/{shopId}/orders',
      'POST /shops/{shopId}/orders/{orderId}/telegram/resend',
      'POST /shops/{shopId}/telegram/connect',
      'GET /shops/{shopId}/telegram/status',
      'POST /shops/{shopId}/telegram/test',
      'GET /health',
    ])
      expect(routes).toContain(r)
    const body = doc.paths['/shops/{shopId}/orders'].post.requestBody.content['application/json'].schema
    expect(body.properties.customerName.type).toBe('string')
    expect(body.required).toEqual(expect.arrayContaining(['number', 'total', 'customerName']))
    expect(JSON.stringify(doc)).not.toContain('"_zod"')
  })
})
