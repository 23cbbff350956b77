import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../src/config'
import { redact } from '../../src/platform/log'
import { SCALAR_ASSET } from '../../src/platform/ui-build'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'

describe('start-up refusals', () => {
  test('a non-loopback HOST without ADMIN_TOKEN is refused, naming HOST', () => {
    for (const HOST of ['0.0.0.0', '192.0.2.10', '::']) {
      expect(() => loadConfig({ HOST })).toThrow(ConfigError)
      expect(() => loadConfig({ HOST })).toThrow(/HOST .*set ADMIN_TOKEN/)
    }
    for (const HOST of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) expect(loadConfig({ HOST }).host).toBe(HOST)
    expect(loadConfig({ HOST: '0.0.0.0', ADMIN_TOKEN: 'long-enough-token-0123456789abcdef' }).host).toBe('0.0.0.0')
  })

  test('NODE_ENV=production without ENCRYPTION_KEY is refused, naming ENCRYPTION_KEY', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'long-enough-token-0123456789abcdef' })).toThrow(
      /ENCRYPTION_KEY is required when NODE_ENV=production/,
    )
    expect(loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'long-enough-token-0123456789abcdef', ENCRYPTION_KEY: 'a'.repeat(64) }).NODE_ENV).toBe(
      'production',
    )
  })

  test('a malformed DATABASE_URL is reported without its password', () => {
    let message = ''
    try {
      loadConfig({ DATABASE_URL: 'postgres://app:SuperSecret42@db host/x' })
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toContain('DATABASE_URL')
    expect(message).not.toContain('SuperSecret42')
    expect(message).toContain('app:***@')
  })
})

describe('log redaction', () => {
  test('every secret shape the API accepts or issues is redacted', () => {
    const bot = makeToken()
    const shortId = `123:${'A'.repeat(35)}`
    const key = `pfk_${'x'.repeat(43)}`
    const session = `pfs_${'y'.repeat(43)}`
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzaG9wIjoiMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ'
    const line = redact(`url /bot${bot}/sendMessage ${shortId} Bearer ${key} ${session} #launch=${jwt} postgres://u:pw123@h/db`)
    for (const secret of [bot.split(':')[1]!, shortId, key, session, jwt, 'pw123']) expect(line).not.toContain(secret)
  })
})

describe('HTTP hardening', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness({ listen: true, env: { FRAME_ANCESTORS: 'https://admin.posiflora.example' } })
  })
  afterAll(() => h.close())

  const chunked = (bytes: number) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        const part = new TextEncoder().encode('x'.repeat(10_000))
        for (let sent = 0; sent < bytes; sent += part.length) c.enqueue(part)
        c.close()
      },
    })

  test('a chunked body over the limit is 413 with the error shape, on the API and the webhook, and stores nothing', async () => {
    const count = async () => (await h.sql<{ n: number }[]>`select count(*)::int as n from orders`)[0]!.n
    const before = await count()
    for (const path of ['/shops/1/orders', '/telegram/webhook/abcdefghijkl']) {
      const r = await fetch(h.base + path, {
        method: 'POST',
        body: chunked(900_000),
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
      } as RequestInit)
      expect(r.status).toBe(413)
      expect((await r.json()).error).toBe('payload_too_large')
    }
    expect(await count()).toBe(before)
  })

  test('a small chunked JSON body is parsed as usual', async () => {
    const body = new TextEncoder().encode(JSON.stringify({ number: 'CH-1', total: 10, customerName: 'Анна' }))
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(body.slice(0, 10))
        c.enqueue(body.slice(10))
        c.close()
      },
    })
    const r = await fetch(h.base + '/shops/1/orders', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit)
    expect(r.status).toBe(201)
  })

  test('page, API, errors and docs carry the security headers; frame-ancestors comes from the setting', async () => {
    for (const path of ['/shops/1/growth/telegram', '/shops/1/telegram/status', '/nope', '/swagger']) {
      const r = await fetch(h.base + path)
      const csp = r.headers.get('content-security-policy') ?? ''
      expect(csp, path).toContain("script-src 'self'")
      expect(csp, path).toContain("object-src 'none'")
      // Telegram Web shows the Mini App in an iframe, so it may always frame the page
      expect(csp, path).toContain("frame-ancestors 'self' https://web.telegram.org https://admin.posiflora.example")
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(r.headers.get('referrer-policy'), path).toBe('no-referrer')
    }
  })

  test('the API docs load their viewer from this server, not a CDN', async () => {
    const html = await (await fetch(h.base + '/swagger')).text()
    expect(html).toContain(`src="/assets/${SCALAR_ASSET}"`)
    expect(html).not.toMatch(/https:\/\/(cdn|unpkg|fonts)\./)
    const js = await fetch(h.base + `/assets/${SCALAR_ASSET}`)
    expect(js.status).toBe(200)
    expect((await js.arrayBuffer()).byteLength).toBeGreaterThan(100_000)
  })
})
