import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B, makeToken } from './fake-telegram'
import { createHarness, one, eventually, expectNoSecrets, type Harness } from './helpers'

/**
 * Order intake and its one Telegram message, through the HTTP API, with the real grammY client
 * talking to the fake Bot API. Each test uses its own shop and bot token so behaviours do not mix.
 */
let h: Harness
const tokens: string[] = []
const order = (number: string, extra: Record<string, unknown> = {}) => ({ number, total: 2490, customerName: 'Анна', ...extra })

async function connectedShop(chatId = '555000111') {
  const shopId = await h.shop()
  const token = makeToken()
  tokens.push(token)
  await h.connect(shopId, token, chatId)
  return { shopId, token }
}
const logRows = (orderId: number) => h.sql<{ status: string; error: string | null; attempts: number; sent_at: Date | null; message: string }[]>`
  select status, error, attempts, sent_at, message from telegram_send_log where order_id = ${orderId}`

beforeAll(async () => {
  h = await createHarness()
})
afterAll(async () => {
  // Whatever happened above, no token may have reached a response or a log line.
  expectNoSecrets([...h.responses, ...h.logs], tokens)
  await h.close()
})

describe('the original brief', () => {
  test('a new order calls Telegram once and writes SENT', async () => {
    const { shopId, token } = await connectedShop()
    const r = await h.post(`/shops/${shopId}/orders`, order('A-1'))
    expect(r.status).toBe(201)
    expect(r.json.telegramStatus).toBe('sent')
    expect(r.json.order).toMatchObject({ number: 'A-1', total: '2490.00', customerName: 'Анна', shopId })
    const sent = h.fake.sent(token)
    expect(sent.length).toBe(1)
    expect(sent[0]!.payload).toMatchObject({ chat_id: '555000111', parse_mode: 'HTML' })
    expect(String(sent[0]!.payload.text)).toContain('№A-1')
    const [row] = await logRows(r.json.order.id)
    expect(row!.status).toBe('SENT')
    expect(row!.sent_at).not.toBeNull()
    expect(row!.attempts).toBe(1)
  })

  test('a repeated order answers 200 with the stored order and sends nothing', async () => {
    const { shopId, token } = await connectedShop()
    const first = await h.post(`/shops/${shopId}/orders`, order('A-2'))
    const again = await h.post(`/shops/${shopId}/orders`, order('A-2'))
    expect(first.status).toBe(201)
    expect(again.status).toBe(200)
    expect(again.json.order.id).toBe(first.json.order.id)
    expect(again.json.telegramStatus).toBe('sent')
    expect(h.fake.sent(token).length).toBe(1)
    const { count } = one(await h.sql`select count(*)::int as count from orders where shop_id = ${shopId}`)
    expect(count).toBe(1)
  })

  test('a Telegram error writes FAILED and the order is still created', async () => {
    const { shopId, token } = await connectedShop()
    h.fake.behaveMethod(token, 'sendMessage', B.chatNotFound)
    const r = await h.post(`/shops/${shopId}/orders`, order('A-3'))
    expect(r.status).toBe(201)
    expect(r.json.telegramStatus).toBe('failed')
    expect(r.json.telegram.error).toContain('chat not found')
    const [row] = await logRows(r.json.order.id)
    expect(row!.status).toBe('FAILED')
    expect(row!.error).toContain('chat not found')
    const [o] = await h.sql`select number from orders where id = ${r.json.order.id}`
    expect(o!.number).toBe('A-3')
  })
})

describe('idempotency', () => {
  test('50 identical concurrent orders make one order, one message, one log row', async () => {
    const { shopId, token } = await connectedShop()
    h.fake.behave(token, { kind: 'slow', ms: 30 })
    const results = await Promise.all(Array.from({ length: 50 }, () => h.post(`/shops/${shopId}/orders`, order('RACE-1'))))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 201).length).toBe(1)
    expect(statuses.filter((s) => s === 200).length).toBe(49)
    expect(new Set(results.map((r) => r.json.order.id)).size).toBe(1)
    const { orders, logs, outbox } = one(await h.sql`
      select (select count(*)::int from orders where shop_id = ${shopId}) as orders,
             (select count(*)::int from telegram_send_log where shop_id = ${shopId}) as logs,
             (select count(*)::int from telegram_outbox where shop_id = ${shopId}) as outbox`)
    expect({ orders, logs, outbox }).toEqual({ orders: 1, logs: 1, outbox: 1 })
    expect(h.fake.sent(token).length).toBe(1)
  })

  test('the same number with a different total or customer is 409 and keeps the first order', async () => {
    const { shopId, token } = await connectedShop()
    await h.post(`/shops/${shopId}/orders`, order('C-1'))
    const otherTotal = await h.post(`/shops/${shopId}/orders`, order('C-1', { total: 2500 }))
    const otherName = await h.post(`/shops/${shopId}/orders`, order('C-1', { customerName: 'Борис' }))
    for (const r of [otherTotal, otherName]) {
      expect(r.status).toBe(409)
      expect(r.json.error).toBe('order_conflict')
      expect(r.json.message).toContain('C-1')
    }
    const rows = await h.sql`select total::text, customer_name from orders where shop_id = ${shopId}`
    expect([...rows]).toEqual([{ total: '2490.00', customer_name: 'Анна' }])
    expect(h.fake.sent(token).length).toBe(1)
  })

  test('2490 and "2490.00" are the same total for a repeat', async () => {
    const { shopId } = await connectedShop()
    await h.post(`/shops/${shopId}/orders`, order('C-2', { total: 2490 }))
    const r = await h.post(`/shops/${shopId}/orders`, order('C-2', { total: '2490.00' }))
    expect(r.status).toBe(200)
  })
})

describe('skipped notifications', () => {
  test('no integration: the order is stored and telegramStatus is skipped', async () => {
    const shopId = await h.shop()
    const r = await h.post(`/shops/${shopId}/orders`, order('S-1'))
    expect(r.status).toBe(201)
    expect(r.json.telegramStatus).toBe('skipped')
    const { count } = one(await h.sql`select count(*)::int as count from telegram_outbox where shop_id = ${shopId}`)
    expect(count).toBe(0)
  })

  test('disabled integration or no chat yet: skipped, nothing sent', async () => {
    const disabled = await h.shop()
    const t1 = makeToken()
    tokens.push(t1)
    await h.connect(disabled, t1, '42', false)
    const waiting = await h.shop()
    const t2 = makeToken()
    tokens.push(t2)
    await h.connect(waiting, t2, null)
    for (const shopId of [disabled, waiting]) {
      const r = await h.post(`/shops/${shopId}/orders`, order('S-2'))
      expect(r.json.telegramStatus).toBe('skipped')
    }
    expect(h.fake.sent(t1).length + h.fake.sent(t2).length).toBe(0)
  })

  test('an unknown shop is 404 and stores nothing', async () => {
    const r = await h.post('/shops/987654/orders', order('X-1'))
    expect(r.status).toBe(404)
    expect(r.json.error).toBe('shop_not_found')
    const { count } = one(await h.sql`select count(*)::int as count from orders where number = 'X-1'`)
    expect(count).toBe(0)
  })
})

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
    const { shopId } = await connectedShop()
    const r = await h.post(`/shops/${shopId}/orders`, order('V-ok', { customerName: '  Анна  ', total: '1234.5' }))
    expect(r.status).toBe(201)
    expect(r.json.order.customerName).toBe('Анна')
    expect(r.json.order.total).toBe('1234.50')
  })
})

describe('the message', () => {
  test('user fields are escaped and arrive exactly as typed', async () => {
    const { shopId, token } = await connectedShop()
    await h.post(`/shops/${shopId}/orders`, order('<i>7</i>', { customerName: '<b>Bob</b> & <script>', comment: 'a "quote" & <tag>' }))
    const text = String(h.fake.sent(token)[0]!.payload.text)
    expect(text).toContain('Клиент: &lt;b&gt;Bob&lt;/b&gt; &amp; &lt;script&gt;')
    expect(text).toContain('№&lt;i&gt;7&lt;/i&gt;')
    expect(text).toContain('Комментарий: a &quot;quote&quot; &amp; &lt;tag&gt;')
    expect(text).not.toContain('<script>')
  })

  test('totals are formatted as rubles and optional fields are shown', async () => {
    const { shopId, token } = await connectedShop()
    await h.post(`/shops/${shopId}/orders`, order('M-1', { total: '1234.50', customerPhone: '+7 900 000-00-00', recipientName: 'Мария', deliveryDate: '2026-12-31', deliveryTime: '14:00–16:00', address: 'ул. Ленина, 1' }))
    await h.post(`/shops/${shopId}/orders`, order('M-2', { total: 2490 }))
    const [first, second] = h.fake.sent(token).map((c) => String(c.payload.text))
    expect(first).toContain('Сумма: <b>1\u00a0234,50\u00a0₽</b>')
    expect(first).toContain('Телефон: +7 900 000-00-00')
    expect(first).toContain('Получатель: Мария')
    expect(first).toContain('Доставка: 31.12.2026, 14:00–16:00')
    expect(first).toContain('Адрес: ул. Ленина, 1')
    expect(first).toContain('Магазин: Тестовый магазин')
    expect(second).toContain('Сумма: <b>2\u00a0490\u00a0₽</b>')
    expect(second).not.toContain('Телефон')
  })

  test('the longest possible order still fits Telegram’s 4096 characters', async () => {
    const { shopId, token } = await connectedShop()
    const huge = '&'.repeat(2000)
    const r = await h.post(`/shops/${shopId}/orders`, order('L'.repeat(64), { customerName: '<'.repeat(200), address: '>'.repeat(500), comment: huge, recipientName: '"'.repeat(200), deliveryTime: '&'.repeat(50) }))
    expect(r.json.telegramStatus).toBe('sent')
    const text = String(h.fake.sent(token)[0]!.payload.text)
    expect(text.length).toBeLessThanOrEqual(4096)
    expect(text).toContain('Сумма')
  })
})

describe('delivery failures and retries', () => {
  test('500 is retried in the background until SENT, attempts counted', async () => {
    const { shopId, token } = await connectedShop()
    h.fake.queue(token, B.e500, B.e500)
    h.services.start()
    const r = await h.post(`/shops/${shopId}/orders`, order('R-500'))
    expect(r.json.telegramStatus).toBe('failed')
    expect(r.json.telegram.retrying).toBe(true)
    const row = await eventually(async () => (await logRows(r.json.order.id)).find((x) => x.status === 'SENT'), { message: 'SENT after retries' })
    expect(row.attempts).toBe(3)
    expect(h.fake.sent(token).length).toBe(3)
    await h.services.dispatcher.stop()
  })

  test('an HTML error page (a proxy 502) is transient too', async () => {
    const { shopId, token } = await connectedShop()
    h.fake.queue(token, { kind: 'html', status: 502 })
    const r = await h.post(`/shops/${shopId}/orders`, order('R-502'))
    expect(r.json.telegramStatus).toBe('failed')
    expect(r.json.telegram.retrying).toBe(true)
    const [row] = await h.sql`select state, last_error from telegram_outbox where order_id = ${r.json.order.id}`
    expect(row!.state).toBe('pending')
  })

  test('a hanging Bot API does not hold the order response beyond the deadline', async () => {
    const { shopId, token } = await connectedShop()
    h.fake.behaveMethod(token, 'sendMessage', B.hang)
    const started = Date.now()
    const r = await h.post(`/shops/${shopId}/orders`, order('R-hang'))
    const elapsed = Date.now() - started
    expect(r.status).toBe(201)
    expect(r.json.telegramStatus).toBe('failed')
    expect(r.json.telegram.retrying).toBe(true)
    expect(elapsed).toBeLessThan(h.config.TELEGRAM_TIMEOUT_MS + 1500)
    const [o] = await h.sql`select count(*)::int as count from orders where shop_id = ${shopId}`
    expect(o!.count).toBe(1)
    h.fake.releaseHanging()
  })

  test('429 waits exactly retry_after before the next attempt', async () => {
    const { shopId, token } = await connectedShop()
    h.fake.queue(token, B.tooMany(1))
    const r = await h.post(`/shops/${shopId}/orders`, order('R-429'))
    expect(r.json.telegramStatus).toBe('failed')
    const next = Date.parse(r.json.telegram.nextAttemptAt)
    const firstAt = h.fake.sent(token)[0]!.at
    expect(next - firstAt).toBeGreaterThanOrEqual(950)
    expect(next - firstAt).toBeLessThan(1300)
    h.services.start()
    await eventually(async () => (await logRows(r.json.order.id))[0]?.status === 'SENT', { message: 'SENT after 429' })
    const calls = h.fake.sent(token)
    expect(calls.length).toBe(2)
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950)
    await h.services.dispatcher.stop()
  })

  const terminal: [string, (typeof B)[keyof typeof B], string, string][] = [
    ['403 blocked', B.blocked, 'заблок', 'bot_blocked'],
    ['403 kicked', B.kicked, 'удал', 'bot_kicked'],
    ['400 chat not found', B.chatNotFound, 'chat not found', 'chat_not_found'],
    ['401 token revoked', B.unauthorized, 'токен', 'token_revoked'],
  ]
  for (const [name, behaviour, reason, code] of terminal) {
    test(`${name} stops retrying, stays FAILED with a readable reason, shows on the status`, async () => {
      const { shopId, token } = await connectedShop()
      h.fake.behaveMethod(token, 'sendMessage', behaviour as never)
      const r = await h.post(`/shops/${shopId}/orders`, order(`T-${name}`))
      expect(r.json.telegramStatus).toBe('failed')
      expect(r.json.telegram.retrying).toBe(false)
      expect(r.json.telegram.error.toLowerCase()).toContain(reason)
      expect(r.json.telegram.errorCode).toBe(code)
      const [d] = await h.sql`select state from telegram_outbox where order_id = ${r.json.order.id}`
      expect(d!.state).toBe('dead')
      h.services.dispatcher.start()
      await Bun.sleep(200) // a dispatcher pass would have retried by now: it must not
      await h.services.dispatcher.stop()
      expect(h.fake.sent(token).length).toBe(1)
      const s = await h.get(`/shops/${shopId}/telegram/status`)
      expect(s.json.state).toBe('failing')
      expect(s.json.failedCount).toBe(1)
      expect(s.json.lastError.toLowerCase()).toContain(reason)
      expect(s.json.lastErrorCode).toBe(code)
      const listed = (await h.get(`/shops/${shopId}/orders`)).json.items[0]
      expect(listed.notification).toMatchObject({ status: 'failed', errorCode: code })
    })
  }

  test('migrate_to_chat_id stores the new chat and resends there', async () => {
    const { shopId, token } = await connectedShop('-4001')
    h.fake.queue(token, B.migrate(-1001234567890123))
    const r = await h.post(`/shops/${shopId}/orders`, order('MIG-1'))
    expect(r.json.telegramStatus).toBe('sent')
    const calls = h.fake.sent(token)
    expect(calls.map((c) => String(c.payload.chat_id))).toEqual(['-4001', '-1001234567890123'])
    const [i] = await h.sql`select chat_id from telegram_integrations where shop_id = ${shopId}`
    expect(i!.chat_id).toBe('-1001234567890123')
    const next = await h.post(`/shops/${shopId}/orders`, order('MIG-2'))
    expect(next.json.telegramStatus).toBe('sent')
    expect(String(h.fake.sent(token)[2]!.payload.chat_id)).toBe('-1001234567890123')
  })

  test('attempts are bounded: a Bot API failing forever ends FAILED, not pending', async () => {
    const hb = await createHarness({ env: { RETRY_MAX_ATTEMPTS: '3' }, fake: h.fake })
    try {
      const shopId = await hb.shop()
      const token = makeToken()
      tokens.push(token)
      await hb.connect(shopId, token, '7')
      hb.fake.behaveMethod(token, 'sendMessage', B.e500)
      hb.services.start()
      const r = await hb.post(`/shops/${shopId}/orders`, order('B-1'))
      const d = await eventually(async () => (await hb.sql`select state, attempts, last_error from telegram_outbox where order_id = ${r.json.order.id} and state = 'dead'`)[0], { message: 'dead delivery' })
      expect(d.attempts).toBe(3)
      expect(d.last_error).toContain('попытки исчерпаны')
      expect(hb.fake.sent(token).length).toBe(3)
      hb.logs.forEach((l) => h.logs.push(l))
    } finally {
      await hb.close()
    }
  })

  test('retries survive a restart: a new process on the same database delivers', async () => {
    const first = await createHarness({ fake: h.fake })
    const shopId = await first.shop()
    const token = makeToken()
    tokens.push(token)
    await first.connect(shopId, token, '77')
    h.fake.queue(token, B.e500)
    const r = await first.post(`/shops/${shopId}/orders`, order('RS-1'))
    expect(r.json.telegramStatus).toBe('failed')
    await first.stop() // the process goes away with a retry pending
    const second = await createHarness({ fake: h.fake, restartOf: { db: first.db, cipherKey: first.cipherKey } })
    second.services.start()
    const row = await eventually(async () => (await second.sql`select status, attempts from telegram_send_log where order_id = ${r.json.order.id} and status = 'SENT'`)[0], { message: 'SENT by the restarted process' })
    expect(row.attempts).toBe(2)
    expect(h.fake.sent(token).length).toBe(2)
    await second.close()
    await first.close()
  })

  test('a process that died mid-send: its lease expires and another one delivers once', async () => {
    const first = await createHarness({ fake: h.fake, delivery: { leaseSec: 1 } })
    const shopId = await first.shop()
    const token = makeToken()
    tokens.push(token)
    await first.connect(shopId, token, '78')
    // The row is leased to `first`, which never records an outcome (as if killed during the call).
    const [o] = await first.sql`insert into orders (shop_id, number, total, customer_name) values (${shopId}, 'DIE-1', 10, 'Ева') returning id`
    await first.sql`insert into telegram_outbox (shop_id, order_id, kind, locked_by, locked_until) values (${shopId}, ${o!.id}, 'order', 'dead-process', now() + interval '1 second')`
    const second = await createHarness({ fake: h.fake, restartOf: { db: first.db, cipherKey: first.cipherKey }, delivery: { leaseSec: 1 } })
    second.services.start()
    await eventually(async () => (await second.sql`select 1 from telegram_send_log where order_id = ${o!.id} and status = 'SENT'`).length > 0, { message: 'delivered after lease expiry' })
    expect(h.fake.sent(token).length).toBe(1)
    await second.close()
    await first.close()
  })

  test('two dispatchers on one database never send the same delivery twice', async () => {
    const a = await createHarness({ fake: h.fake })
    const b = await createHarness({ fake: h.fake, restartOf: { db: a.db, cipherKey: a.cipherKey } })
    const shops = await Promise.all(Array.from({ length: 5 }, () => a.shop()))
    const shopTokens = shops.map(() => makeToken())
    tokens.push(...shopTokens)
    for (const [i, s] of shops.entries()) await a.connect(s, shopTokens[i]!, String(900 + i))
    // 100 due deliveries written straight into the outbox, unleased: both dispatchers race for them.
    await a.sql`
      with o as (
        insert into orders (shop_id, number, total, customer_name)
        select s, 'P-' || n, 100, 'Клиент' from unnest(${shops}::bigint[]) s, generate_series(1, 20) n
        returning id, shop_id)
      insert into telegram_outbox (shop_id, order_id, kind) select shop_id, id, 'order' from o`
    await Promise.all([a.services.dispatcher.runOnce(), b.services.dispatcher.runOnce(), a.services.dispatcher.runOnce(), b.services.dispatcher.runOnce()])
    a.services.start()
    b.services.start()
    await eventually(async () => (await a.sql`select count(*)::int as c from telegram_outbox where state = 'done' and shop_id = any(${shops})`)[0]!.c === 100, { message: 'all 100 delivered' })
    const texts = shopTokens.flatMap((t) => h.fake.sent(t).map((c) => `${t}|${c.payload.text}`))
    expect(texts.length).toBe(100)
    expect(new Set(texts).size).toBe(100)
    await b.close()
    await a.close()
  })
})

describe('resend', () => {
  test('a FAILED notification is re-queued by the owner and becomes SENT; a sent one is 409', async () => {
    const { shopId, token } = await connectedShop()
    h.fake.behaveMethod(token, 'sendMessage', B.blocked)
    const r = await h.post(`/shops/${shopId}/orders`, order('RE-1'))
    expect(r.json.telegramStatus).toBe('failed')
    h.fake.behaveMethod(token, 'sendMessage', B.ok)
    const again = await h.post(`/shops/${shopId}/orders/${r.json.order.id}/telegram/resend`)
    expect(again.status).toBe(200)
    expect(again.json.telegramStatus).toBe('sent')
    const [row] = await logRows(r.json.order.id)
    expect(row!.status).toBe('SENT')
    const twice = await h.post(`/shops/${shopId}/orders/${r.json.order.id}/telegram/resend`)
    expect(twice.status).toBe(409)
    expect(twice.json.error).toBe('already_sent')
    expect(h.fake.sent(token).length).toBe(2)
  })

  test('resend of an unknown order is 404, of an order of another shop too', async () => {
    const { shopId } = await connectedShop()
    const other = await connectedShop()
    const r = await h.post(`/shops/${other.shopId}/orders`, order('RE-2'))
    expect((await h.post(`/shops/${shopId}/orders/999999/telegram/resend`)).status).toBe(404)
    expect((await h.post(`/shops/${shopId}/orders/${r.json.order.id}/telegram/resend`)).status).toBe(404)
  })
})

describe('listing', () => {
  test('orders come newest first with their notification, pages are stable under inserts', async () => {
    const { shopId } = await connectedShop()
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

describe('the dispatcher', () => {
  /** Due, unleased deliveries written straight into the outbox, as a crashed request would leave them. */
  async function backlog(x: Harness, shopId: number, n: number, prefix: string) {
    await x.sql`
      with o as (
        insert into orders (shop_id, number, total, customer_name)
        select ${shopId}, ${prefix} || n, 100, 'Клиент' from generate_series(1, ${n}) n
        returning id, shop_id)
      insert into telegram_outbox (shop_id, order_id, kind) select shop_id, id, 'order' from o`
  }

  test('paces each chat (one message per interval) while different shops go in parallel', async () => {
    const x = await createHarness({ fake: h.fake, env: { TELEGRAM_CHAT_INTERVAL_MS: '300', TELEGRAM_GROUP_INTERVAL_MS: '600' } })
    try {
      const a = await x.shop()
      const g = await x.shop()
      const ta = makeToken()
      const tg = makeToken()
      tokens.push(ta, tg)
      await x.connect(a, ta, '4100')
      await x.connect(g, tg, '-4200')
      await backlog(x, a, 4, 'PA-')
      await backlog(x, g, 3, 'PG-')
      const started = Date.now()
      x.services.dispatcher.start()
      await eventually(async () => one(await x.sql`select count(*)::int as c from telegram_outbox where shop_id in (${a}, ${g}) and state = 'done'`).c === 7, { message: 'all delivered' })
      const gaps = (token: string) => {
        const at = h.fake.sent(token).map((c) => c.at)
        return at.slice(1).map((t, i) => t - at[i]!)
      }
      for (const gap of gaps(ta)) expect(gap).toBeGreaterThanOrEqual(280)
      for (const gap of gaps(tg)) expect(gap).toBeGreaterThanOrEqual(580)
      // In parallel, not one after the other: the group's 3 messages take ~1.2 s, not 0.9 s + 1.2 s.
      expect(Date.now() - started).toBeLessThan(2500)
    } finally {
      await x.close()
    }
  })

  test('work committed by another process wakes an idle dispatcher at once (LISTEN/NOTIFY), not at its next poll', async () => {
    const x = await createHarness({ fake: h.fake, env: { DISPATCH_INTERVAL_MS: '60000' } })
    try {
      const s = await x.shop()
      const token = makeToken()
      tokens.push(token)
      await x.connect(s, token, '4300')
      x.services.dispatcher.start()
      await eventually(async () => (await x.sql`select 1 from pg_stat_activity where datname = current_database() and query ilike 'listen%'`).length > 0, { message: 'dispatcher listening' })
      await Bun.sleep(50) // let the loop finish its first (empty) pass and go to sleep for 60 s
      const committed = Date.now()
      await backlog(x, s, 1, 'NT-')
      await eventually(() => h.fake.sent(token).length === 1, { timeoutMs: 3000, message: 'woken by NOTIFY' })
      expect(h.fake.sent(token)[0]!.at - committed).toBeLessThan(1000)
    } finally {
      await x.close()
    }
  })
})
