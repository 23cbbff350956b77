import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHarness, eventually, one, type Harness } from '../helpers'
import { createIntakeHarness, type IntakeHarness } from '../orders/fixtures'

/** The dispatcher: each chat paced, shops in parallel; work another process commits wakes it at once (LISTEN/NOTIFY). */
let intake: IntakeHarness
let h: Harness
beforeAll(async () => ({ h } = intake = await createIntakeHarness()))
afterAll(() => intake.close())

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
      const ta = intake.newToken()
      const tg = intake.newToken()
      await x.connect(a, ta, '4100')
      await x.connect(g, tg, '-4200')
      await backlog(x, a, 4, 'PA-')
      await backlog(x, g, 3, 'PG-')
      const started = Date.now()
      x.services.dispatcher.start()
      await eventually(async () => one(await x.sql`select count(*)::int as c from telegram_outbox where shop_id in (${a}, ${g}) and state = 'done'`).c === 7, {
        message: 'all delivered',
      })
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
      const token = intake.newToken()
      await x.connect(s, token, '4300')
      x.services.dispatcher.start()
      await eventually(async () => (await x.sql`select 1 from pg_stat_activity where datname = current_database() and query ilike 'listen%'`).length > 0, {
        message: 'dispatcher listening',
      })
      await Bun.sleep(50) // let the loop finish its first (empty) pass and go to sleep for 60 s
      const committed = Date.now()
      await backlog(x, s, 1, 'NT-')
      await eventually(() => h.fake.sent(token).length === 1, { timeoutMs: 3000, message: 'woken by NOTIFY' })
      expect(h.fake.sent(token)[0]!.at - committed).toBeLessThan(1000)
    } finally {
      await x.close()
    }
  })

  test('a status change is quiet (no NOTIFY, whose lock serializes commits): its own dispatcher is woken in-process and edits at once', async () => {
    const x = await createHarness({ fake: h.fake, env: { DISPATCH_INTERVAL_MS: '60000' } })
    const heard: string[] = []
    const listener = await x.sql.listen('telegram_outbox', (p) => heard.push(p))
    try {
      const s = await x.shop()
      const token = intake.newToken()
      await x.connect(s, token, '4310')
      const r = await x.post(`/shops/${s}/orders`, { number: 'Q-1', total: 100, customerName: 'Анна' })
      expect(r.json.telegramStatus).toBe('sent')
      x.services.dispatcher.start()
      await Bun.sleep(100) // the loop's first (empty) pass; it then sleeps for 60 s unless woken
      heard.length = 0
      const changed = Date.now()
      expect((await x.request('PATCH', `/shops/${s}/orders/${r.json.order.id}`, { status: 'accepted' })).status).toBe(200)
      const edit = await eventually(() => h.fake.callsOf('editMessageText', token)[0], { timeoutMs: 3000, message: 'the edit, woken in-process' })
      expect(edit.at - changed).toBeLessThan(1000)
      expect(String(edit.payload.text)).toContain('Принят')
      // nothing was notified: the change and the edit's completion were quiet
      await Bun.sleep(100)
      expect(heard).toEqual([])
      // a row written by hand (another program, an operator) still wakes every dispatcher
      await backlog(x, s, 1, 'QN-')
      await eventually(() => heard.length > 0, { timeoutMs: 3000, message: 'NOTIFY for a row written by hand' })
    } finally {
      await listener.unlisten()
      await x.close()
    }
  })
})
