import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { B } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'
import { createIntakeHarness, order, type IntakeHarness } from '../orders/fixtures'

/** Real HTTP and a real database on a shared 2-core machine: 5 s is too short under load (two dispatchers take ~4-5 s alone). */
setDefaultTimeout(30_000)

/** A notification that meets a Telegram failure: what is retried, for how long, and what survives a restart. */
let intake: IntakeHarness
let h: Harness
beforeAll(async () => ({ h } = intake = await createIntakeHarness()))
afterAll(() => intake.close())

describe('delivery failures and retries', () => {
  test('500 is retried in the background until SENT, attempts counted', async () => {
    const { shopId, token } = await intake.connectedShop()
    h.fake.queue(token, B.e500, B.e500)
    h.services.start()
    const r = await h.post(`/shops/${shopId}/orders`, order('R-500'))
    expect(r.json.telegramStatus).toBe('failed')
    expect(r.json.telegram.retrying).toBe(true)
    const row = await eventually(async () => (await intake.logRows(r.json.order.id)).find((x) => x.status === 'SENT'), { message: 'SENT after retries' })
    expect(row.attempts).toBe(3)
    expect(h.fake.sent(token).length).toBe(3)
    await h.services.dispatcher.stop()
  })

  test('an HTML error page (a proxy 502) is transient too', async () => {
    const { shopId, token } = await intake.connectedShop()
    h.fake.queue(token, { kind: 'html', status: 502 })
    const r = await h.post(`/shops/${shopId}/orders`, order('R-502'))
    expect(r.json.telegramStatus).toBe('failed')
    expect(r.json.telegram.retrying).toBe(true)
    const [row] = await h.sql`select state, last_error from telegram_outbox where order_id = ${r.json.order.id} and kind = 'order'`
    expect(row!.state).toBe('pending')
  })

  test('a hanging Bot API does not hold the order response beyond the deadline', async () => {
    const { shopId, token } = await intake.connectedShop()
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
    const { shopId, token } = await intake.connectedShop()
    h.fake.queue(token, B.tooMany(1))
    const r = await h.post(`/shops/${shopId}/orders`, order('R-429'))
    expect(r.json.telegramStatus).toBe('failed')
    const next = Date.parse(r.json.telegram.nextAttemptAt)
    const firstAt = h.fake.sent(token)[0]!.at
    expect(next - firstAt).toBeGreaterThanOrEqual(950)
    expect(next - firstAt).toBeLessThan(1300)
    h.services.start()
    await eventually(async () => (await intake.logRows(r.json.order.id))[0]?.status === 'SENT', { message: 'SENT after 429' })
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
      const { shopId, token } = await intake.connectedShop()
      h.fake.behaveMethod(token, 'sendMessage', behaviour as never)
      const r = await h.post(`/shops/${shopId}/orders`, order(`T-${name}`))
      expect(r.json.telegramStatus).toBe('failed')
      expect(r.json.telegram.retrying).toBe(false)
      expect(r.json.telegram.error.toLowerCase()).toContain(reason)
      expect(r.json.telegram.errorCode).toBe(code)
      const [d] = await h.sql`select state from telegram_outbox where order_id = ${r.json.order.id} and kind = 'order'`
      expect(d!.state).toBe('dead')
      // dispatcher passes (other shops' work may be due too) never take a dead notification again
      await h.services.dispatcher.runOnce()
      await h.services.dispatcher.runOnce()
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
    const { shopId, token } = await intake.connectedShop('-4001')
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
      const token = intake.newToken()
      await hb.connect(shopId, token, '7')
      hb.fake.behaveMethod(token, 'sendMessage', B.e500)
      hb.services.start()
      const r = await hb.post(`/shops/${shopId}/orders`, order('B-1'))
      const d = await eventually(
        async () => (await hb.sql`select state, attempts, last_error from telegram_outbox where order_id = ${r.json.order.id} and state = 'dead'`)[0],
        { message: 'dead delivery' },
      )
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
    const token = intake.newToken()
    await first.connect(shopId, token, '77')
    h.fake.queue(token, B.e500)
    const r = await first.post(`/shops/${shopId}/orders`, order('RS-1'))
    expect(r.json.telegramStatus).toBe('failed')
    await first.stop() // the process goes away with a retry pending
    const second = await createHarness({ fake: h.fake, restartOf: { db: first.db, cipherKey: first.cipherKey } })
    second.services.start()
    const row = await eventually(
      async () => (await second.sql`select status, attempts from telegram_send_log where order_id = ${r.json.order.id} and status = 'SENT'`)[0],
      { message: 'SENT by the restarted process' },
    )
    expect(row.attempts).toBe(2)
    expect(h.fake.sent(token).length).toBe(2)
    await second.close()
    await first.close()
  })

  test('a process that died mid-send: its lease expires and another one delivers once', async () => {
    const first = await createHarness({ fake: h.fake, delivery: { leaseSec: 1 } })
    const shopId = await first.shop()
    const token = intake.newToken()
    await first.connect(shopId, token, '78')
    // The row is leased to `first`, which never records an outcome (as if killed during the call).
    const [o] = await first.sql`insert into orders (shop_id, number, total, customer_name) values (${shopId}, 'DIE-1', 10, 'Ева') returning id`
    await first.sql`insert into telegram_outbox (shop_id, order_id, kind, locked_by, locked_until) values (${shopId}, ${o!.id}, 'order', 'dead-process', now() + interval '1 second')`
    const second = await createHarness({ fake: h.fake, restartOf: { db: first.db, cipherKey: first.cipherKey }, delivery: { leaseSec: 1 } })
    second.services.start()
    await eventually(async () => (await second.sql`select 1 from telegram_send_log where order_id = ${o!.id} and status = 'SENT'`).length > 0, {
      message: 'delivered after lease expiry',
    })
    expect(h.fake.sent(token).length).toBe(1)
    await second.close()
    await first.close()
  })

  test('two dispatchers on one database never send the same delivery twice', async () => {
    const a = await createHarness({ fake: h.fake })
    const b = await createHarness({ fake: h.fake, restartOf: { db: a.db, cipherKey: a.cipherKey } })
    const shops = await Promise.all(Array.from({ length: 5 }, () => a.shop()))
    const shopTokens = shops.map(() => intake.newToken())
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
    await eventually(async () => (await a.sql`select count(*)::int as c from telegram_outbox where state = 'done' and shop_id = any(${shops})`)[0]!.c === 100, {
      message: 'all 100 delivered',
    })
    const texts = shopTokens.flatMap((t) => h.fake.sent(t).map((c) => `${t}|${c.payload.text}`))
    expect(texts.length).toBe(100)
    expect(new Set(texts).size).toBe(100)
    await b.close()
    await a.close()
  }, 30_000)
})
