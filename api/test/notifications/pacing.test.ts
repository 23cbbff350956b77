import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, eventually, one, type Harness } from '../helpers'
import { loadNotifications } from '../../src/notifications'

/**
 * Pacing against Telegram's limits, as the peak-day bench found it: the next slot of a chat counts
 * from Telegram's acceptance of the last message (also for the send inside POST /orders), and an edit
 * that the new-order message already made moot is not sent (it would cost the chat a slot).
 */
let h: Harness
beforeAll(async () => {
  h = await createHarness({ delivery: { chatIntervalMs: 1000, groupIntervalMs: 3000 } })
})
afterAll(() => h.close())

describe('pacing a chat', () => {
  test('the send inside POST /orders moves the chat’s next slot from when Telegram accepted it, not from when the slot was taken', async () => {
    const shop = await h.shop('Лавка')
    const token = makeToken()
    await h.connect(shop, token, '7300001')
    h.fake.behaveMethod(token, 'sendMessage', { kind: 'slow', ms: 300 })
    const r = await h.post(`/shops/${shop}/orders`, { number: 'PACE-1', total: 100, customerName: 'Ян' })
    expect(r.json.telegramStatus).toBe('sent')
    const call = h.fake.sent(token).at(-1)!
    const { next_send_at } = one(await h.sql<{ next_send_at: Date }[]>`select next_send_at from telegram_chats where shop_id = ${shop}`)
    // accepted ≥ 300 ms after the request reached the fake; the next message may go 1 s after that
    expect(new Date(next_send_at).getTime()).toBeGreaterThanOrEqual(call.at + 300 + 1000 - 15)
  })

  test('an order accepted before its message could go out: the message shows «Принят» and the moot edit is not sent', async () => {
    const shop = await h.shop('Лавка')
    const token = makeToken()
    await h.connect(shop, token, '-1007300002') // a group: one message per 3 s
    await h.sql`update telegram_chats set next_send_at = now() + interval '1 second' where shop_id = ${shop}`
    const r = await h.post(`/shops/${shop}/orders`, { number: 'PACE-2', total: 100, customerName: 'Ян' })
    expect(r.json.telegramStatus).toBe('pending')
    expect((await h.request('PATCH', `/shops/${shop}/orders/${r.json.order.id}`, { status: 'accepted' })).status).toBe(200)
    h.services.dispatcher.start()
    const sent = await eventually(() => h.fake.sent(token).find((c) => String(c.payload.text).includes('PACE-2')), {
      message: 'sent when the slot opened',
      timeoutMs: 5000,
    })
    expect(String(sent.payload.text)).toContain('<b>Принят</b>')
    // (the second call for an unaccepted order, sql/023, was settled by the acceptance: not part of this)
    const rows = async () =>
      (
        await h.sql<{ kind: string; state: string }[]>`
          select kind, state from telegram_outbox where order_id = ${r.json.order.id} and kind <> 'order_unaccepted' order by kind`
      ).map((x) => [x.kind, x.state])
    // recorded just after Telegram accepted it
    await eventually(async () => (await rows()).every(([, state]) => state === 'done'), { message: 'both rows done' })
    expect(await rows()).toEqual([
      ['order', 'done'],
      ['order_status', 'done'],
    ])
    // a status change after the message went out is edited as always
    await h.request('PATCH', `/shops/${shop}/orders/${r.json.order.id}`, { status: 'assembling' })
    const edit = await eventually(() => h.fake.callsOf('editMessageText', token)[0], { message: 'the later change edited', timeoutMs: 6000 })
    expect(String(edit.payload.text)).toContain('<b>Собирается</b>')
    expect(h.fake.callsOf('editMessageText', token)).toHaveLength(1)
    await h.services.dispatcher.stop()
  }, 15_000)

  test('while a request is making a new order’s first attempt, the dispatcher does not take that chat for an edit', async () => {
    const shop = await h.shop('Лавка')
    const token = makeToken()
    await h.connect(shop, token, '7300003')
    const first = await h.post(`/shops/${shop}/orders`, { number: 'PACE-3', total: 100, customerName: 'Ян' })
    expect(first.json.telegramStatus).toBe('sent')
    await h.sql`update telegram_chats set next_send_at = null where shop_id = ${shop}`
    // an edit of the first order is due, and a second order's row is leased by the request sending it
    await h.request('PATCH', `/shops/${shop}/orders/${first.json.order.id}`, { status: 'accepted' })
    const [chat] = await h.sql<{ id: string }[]>`select id from telegram_chats where shop_id = ${shop}`
    const [order] = await h.sql<{ id: string }[]>`insert into orders (shop_id, number, total, customer_name) values (${shop}, 'PACE-4', 100, 'Ян') returning id`
    await h.sql`
      insert into telegram_outbox (shop_id, order_id, kind, chat_ref, locked_by, locked_until)
      values (${shop}, ${order!.id}, 'order', ${chat!.id}, 'a-request', now() + interval '30 seconds')`
    await h.sql`update telegram_chats set next_send_at = null where shop_id = ${shop}`
    expect(await h.services.dispatcher.runOnce()).toBe(0)
    expect(h.fake.callsOf('editMessageText', token)).toHaveLength(0)
    // the request gave the row back (say the slot was busy): now the new order goes first, then the edit
    await h.sql`update telegram_outbox set locked_by = null, locked_until = null where order_id = ${order!.id}`
    await h.services.dispatcher.runOnce()
    expect(String(h.fake.sent(token).at(-1)!.payload.text)).toContain('PACE-4')
    expect(h.fake.callsOf('editMessageText', token)).toHaveLength(0)
  })

  test('a send slower than the chat’s interval: the next message of that chat waits until Telegram has accepted it (one in flight per paced chat)', async () => {
    const shop = await h.shop('Лавка')
    const token = makeToken()
    await h.connect(shop, token, '7300031')
    const ids: number[] = []
    for (const n of ['SLOW-1', 'SLOW-2']) ids.push((await h.post(`/shops/${shop}/orders`, { number: n, total: 100, customerName: 'Ян' })).json.order.id)
    h.services.dispatcher.start()
    await eventually(() => h.fake.sent(token).length === 2, { message: 'both orders sent', timeoutMs: 5000 })
    // every edit takes 1.2 s to be accepted: longer than the chat's 1 s interval (within the 1.5 s timeout)
    h.fake.behaveMethod(token, 'editMessageText', { kind: 'slow', ms: 1200 })
    for (const id of ids) expect((await h.request('PATCH', `/shops/${shop}/orders/${id}`, { status: 'accepted' })).status).toBe(200)
    const [a, b] = await eventually(() => (h.fake.callsOf('editMessageText', token).length >= 2 ? h.fake.callsOf('editMessageText', token) : null), {
      message: 'both edits sent',
      timeoutMs: 10_000,
    })
    await h.services.dispatcher.stop()
    // the second reached Telegram only after the first was accepted (1.2 s) plus the chat's interval
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(1200 + 1000 - 20)
  }, 30_000)

  test('two attempts for one paced chat reaching the sender together: one is sent, the other waits the chat’s interval', async () => {
    const shop = await h.shop('Лавка')
    const token = makeToken()
    await h.connect(shop, token, '7300041')
    await h.sql`update telegram_chats set next_send_at = now() + interval '1 hour' where shop_id = ${shop}`
    for (const n of ['PAIR-1', 'PAIR-2']) await h.post(`/shops/${shop}/orders`, { number: n, total: 100, customerName: 'Ян' })
    // both rows leased to this process at once, as no claim should ever do for one chat
    const owner = h.services.delivery.owner
    const ids = (
      await h.sql<{ id: string }[]>`
        update telegram_outbox set locked_by = ${owner}, locked_until = now() + interval '30 seconds'
        where shop_id = ${shop} and kind = 'order' returning id`
    ).map((r) => r.id)
    h.fake.behaveMethod(token, 'sendMessage', { kind: 'slow', ms: 300 })
    const rows = await loadNotifications(h.sql, h.services.delivery.kinds, ids)
    const outcomes = await Promise.all(rows.map((r) => h.services.delivery.attempt(r)))
    expect(outcomes.map((o) => o.status).sort()).toEqual(['pending', 'sent'])
    expect(h.fake.sent(token)).toHaveLength(1)
    const waiting = await h.sql<{ locked_by: string | null; wait_ms: number }[]>`
      select locked_by, (extract(epoch from next_attempt_at - now()) * 1000)::float8 as wait_ms from telegram_outbox
      where shop_id = ${shop} and kind = 'order' and state = 'pending'`
    expect(waiting).toHaveLength(1)
    expect(waiting[0]!.locked_by).toBeNull()
    expect(waiting[0]!.wait_ms).toBeGreaterThan(0)
  })

  test('a group gets messages 1 s apart until 20 fall within a minute; the 21st waits for the oldest to leave the minute (sql/018)', async () => {
    const at = (s: number) => new Date(Date.UTC(2026, 2, 8, 9, 0, 0) + s * 1000).toISOString()
    const next = async (window: string[], now: string, group: boolean) =>
      new Date(
        one(
          await h.sql<
            { t: Date }[]
          >`select chat_next_slot(chat_window_push(${window}::timestamptz[], ${now}::timestamptz), ${now}::timestamptz, ${group}, 1000, 20) as t`,
        ).t,
      ).toISOString()
    const nineteen = Array.from({ length: 19 }, (_, k) => at(k))
    // 19 sends in the last 19 s, one more now: 20 within the minute, so the next waits until the first leaves it
    expect(await next(nineteen, at(19), true)).toBe(at(60))
    // with 18 before, one more now makes 19: the next may follow in 1 s
    expect(await next(nineteen.slice(1), at(19), true)).toBe(at(20))
    // sends older than a minute do not count
    expect(await next([at(-120), at(-90), ...nineteen.slice(1)], at(19), true)).toBe(at(20))
    // a private chat only keeps its spacing
    expect(await next(nineteen, at(19), false)).toBe(at(20))
    // the window keeps the last minute only, oldest first
    const w = one(await h.sql<{ w: Date[] }[]>`select chat_window_push(${[at(-61), at(-30)]}::timestamptz[], ${at(0)}::timestamptz) as w`).w
    expect(w.map((d) => new Date(d).toISOString())).toEqual([at(-30), at(0)])
  })

  test('end to end: a group inside the limit gets each new order at once, 1 s apart', async () => {
    const g = await createHarness({ delivery: { chatIntervalMs: 1000, groupIntervalMs: 1000, groupPerMinute: 3 } })
    try {
      const shop = await g.shop('Лавка')
      const token = makeToken()
      await g.connect(shop, token, '-1007300009')
      g.services.dispatcher.start()
      for (let k = 1; k <= 4; k++) expect((await g.post(`/shops/${shop}/orders`, { number: `W-${k}`, total: 100, customerName: 'Ян' })).status).toBe(201)
      await eventually(() => g.fake.sent(token).length === 3, { message: 'three within the window', timeoutMs: 5000 })
      const [a, b, c] = g.fake.sent(token)
      expect(b!.at - a!.at).toBeGreaterThanOrEqual(950)
      expect(c!.at - b!.at).toBeLessThan(2000)
      // the fourth waits until the first send leaves the minute
      const { next_send_at } = one(await g.sql<{ next_send_at: Date }[]>`select next_send_at from telegram_chats where shop_id = ${shop}`)
      expect(new Date(next_send_at).getTime()).toBeGreaterThanOrEqual(a!.at + 60_000 - 50)
      expect(g.fake.sent(token)).toHaveLength(3)
    } finally {
      await g.close()
    }
  }, 15_000)
})
