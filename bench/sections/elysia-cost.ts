/**
 * What Elysia's per-request work costs on the hot routes: the same work through `app.handle` (routing,
 * the global hooks — security headers, body parsing, auth, rate limit —, request and response
 * validation, JSON serialisation) and called on the service directly, one at a time in this process,
 * against the bench's database and fake Bot API. The difference is the framework's share.
 */
import { createApp } from '../../api/src/app'
import { GrammyClient } from '../../api/src/bot-api/grammy-client'
import { loadConfig } from '../../api/src/config'
import { CreateOrderBody } from '../../api/src/orders/schema'
import { createLogger } from '../../api/src/platform/log'
import { createServices } from '../../api/src/wiring'
import { round, sampleOrder, summary } from '../lib'
import { ADMIN_TOKEN, AUTH, cipher, ENCRYPTION_KEY, fake, pg, sql } from './context'

async function timed(n: number, f: (i: number) => Promise<unknown>) {
  for (let i = 0; i < Math.min(200, n); i++) await f(-1 - i)
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await f(i)
    ms.push(performance.now() - t)
  }
  return summary(ms)
}

export async function elysiaCost(statusShop: number, orderShop: number, n: number) {
  const config = loadConfig({
    DATABASE_URL: pg.url,
    ADMIN_TOKEN,
    ENCRYPTION_KEY,
    TELEGRAM_MODE: 'real',
    TELEGRAM_API_ROOT: fake.url,
    TELEGRAM_CHAT_INTERVAL_MS: '0',
    TELEGRAM_GROUP_INTERVAL_MS: '0',
    RATE_LIMIT_ORDERS_PER_MINUTE: '0',
    RATE_LIMIT_WRITES_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
  })
  const log = createLogger('warn', () => {})
  const client = new GrammyClient({ apiRoot: fake.url, timeoutMs: config.TELEGRAM_TIMEOUT_MS })
  const services = createServices({ config, sql, client, cipher, log })
  const app = createApp(services)
  const base = 'http://localhost'
  const health = await timed(n, () => app.handle(new Request(`${base}/health`)).then((r) => r.text()))
  const statusHttp = await timed(n, () => app.handle(new Request(`${base}/shops/${statusShop}/telegram/status`, { headers: AUTH })).then((r) => r.text()))
  const statusDirect = await timed(n, () => services.telegram.status(statusShop).then((s) => JSON.stringify(s)))
  const post = (tag: string) => (i: number) =>
    app
      .handle(
        new Request(`${base}/shops/${orderShop}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...AUTH },
          body: JSON.stringify(sampleOrder(`${tag}${i}`, '1500.00')),
        }),
      )
      .then((r) => r.text())
  const direct = (tag: string) => (i: number) =>
    services.orders.create(orderShop, CreateOrderBody.parse(sampleOrder(`${tag}${i}`, '1500.00'))).then((r) => JSON.stringify(r))
  const ordersHttp = await timed(n, post('EH'))
  const ordersDirect = await timed(n, direct('ED'))
  await services.stop()
  const share = (http: number, dir: number) => round(((http - dir) / http) * 100, 0)
  return {
    n,
    healthMs: health,
    status: {
      httpMs: statusHttp,
      directMs: statusDirect,
      elysiaMsP50: round(statusHttp.p50 - statusDirect.p50, 3),
      elysiaPctP50: share(statusHttp.p50, statusDirect.p50),
    },
    orders: {
      httpMs: ordersHttp,
      directMs: ordersDirect,
      elysiaMsP50: round(ordersHttp.p50 - ordersDirect.p50, 3),
      elysiaPctP50: share(ordersHttp.p50, ordersDirect.p50),
    },
  }
}
