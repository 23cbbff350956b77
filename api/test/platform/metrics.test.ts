import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { B, makeToken } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'

type Family = { name: string; type: string; metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string }[] }

describe('GET /metrics (Prometheus text format)', () => {
  let h: Harness
  const token = makeToken()
  beforeAll(async () => {
    h = await createHarness({ env: { ADMIN_TOKEN: 'operator-secret-token-0123456789abcdef' } })
  })
  afterAll(() => h.close())
  const op = { authorization: 'Bearer operator-secret-token-0123456789abcdef' }

  test('an operator scrapes attempts by outcome and code, 429s, latency and lag histograms, outbox depth and HTTP durations by route', async () => {
    await h.request('POST', '/shops/1/telegram/connect', { botToken: token, chatId: '9100001', enabled: true }, op)
    expect((await h.request('POST', '/shops/1/orders', { number: 'MT-1', total: 10, customerName: 'Аня' }, op)).json.telegramStatus).toBe('sent')
    h.fake.queue(token, B.tooMany(5))
    expect((await h.request('POST', '/shops/1/orders', { number: 'MT-2', total: 10, customerName: 'Аня' }, op)).json.telegramStatus).toBe('failed')
    const r = await h.get('/metrics', op)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toContain('text/plain')
    const families = parsePrometheusTextFormat(r.text) as Family[]
    const fam = (name: string) => families.find((f) => f.name === name)!
    const attempts = fam('notify_attempts_total').metrics
    expect(attempts.find((m) => m.labels?.outcome === 'sent' && m.labels.kind === 'order')?.value).toBe('1')
    expect(attempts.find((m) => m.labels?.outcome === 'retry' && m.labels.error_code === 'rate_limited')?.value).toBe('1')
    expect(fam('notify_telegram_429_total').metrics[0]!.value).toBe('1')
    expect(fam('notify_new_order_lag_seconds').type).toBe('HISTOGRAM')
    expect(fam('notify_new_order_lag_seconds').metrics[0]!.count).toBe('1')
    expect(fam('notify_telegram_call_seconds').metrics[0]!.buckets?.['+Inf']).toBe('1')
    expect(fam('notify_outbox_depth').metrics.find((m) => m.labels?.state === 'pending' && m.labels.kind === 'order')?.value).toBe('1')
    expect(Number(fam('notify_outbox_oldest_due_seconds').metrics[0]!.value)).toBeGreaterThanOrEqual(0)
    // recorded after each response is sent, so it shows in a later scrape (the parser above drops the
    // labels of labelled histograms, so this one is read from the text)
    const line = await eventually(
      async () =>
        (await h.get('/metrics', op)).text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('http_request_duration_seconds_count{') &&
              l.includes('method="POST"') &&
              l.includes('route="/shops/:shopId/orders"') &&
              l.includes('status="201"'),
          ),
      { message: 'HTTP duration of POST /shops/:shopId/orders' },
    )
    expect(Number(line.split(' ').at(-1))).toBeGreaterThanOrEqual(2)
  })

  test('only the operator may read it when ADMIN_TOKEN is set', async () => {
    expect((await h.get('/metrics')).status).toBe(401)
    const key = (await h.request('POST', '/shops/1/api-keys', {}, op)).json.key
    expect((await h.get('/metrics', { authorization: `Bearer ${key}` })).status).toBe(403)
  })

  test('open live page streams are a gauge', async () => {
    const live = async () => {
      const fams = parsePrometheusTextFormat((await h.get('/metrics', op)).text) as Family[]
      return Number(fams.find((f) => f.name === 'notify_live_streams')!.metrics[0]!.value)
    }
    expect(await live()).toBe(0)
    const res = await h.app.handle(new Request('http://localhost/shops/1/events', { headers: op }))
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    await reader.read() // the `ready` event
    expect(await live()).toBe(1)
    await reader.cancel()
    await eventually(async () => (await live()) === 0, { message: 'the stream closed' })
  })
})
