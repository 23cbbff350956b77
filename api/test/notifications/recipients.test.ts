import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B, makeToken, type Call } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'

/** Several chats per shop: each gets exactly what it asked for, in its topic, silently in its quiet hours. */
let h: Harness
beforeAll(async () => {
  h = await createHarness({ listen: true })
  h.services.start()
})
afterAll(() => h.close())

const OWNER = '5550001'
const FLORISTS = '-1005550002'
const COURIER = '5550003'
const ACCOUNTANT = '5550004'

async function shopWithRecipients(recipients: { chatId: string; events?: string[]; threadId?: number; quietHours?: { from: string; to: string } }[]) {
  const shop = await h.shop('Лавка с получателями')
  const token = makeToken()
  const first = recipients[0]!
  await h.connect(shop, token, first.chatId)
  const ids: number[] = []
  const list = await h.get(`/shops/${shop}/telegram/chats`)
  ids.push(list.json.items[0].id)
  if (first.events || first.threadId || first.quietHours) {
    const r = await h.request('PATCH', `/shops/${shop}/telegram/chats/${ids[0]}`, {
      events: first.events,
      threadId: first.threadId,
      quietHours: first.quietHours,
    })
    expect(r.status).toBe(200)
  }
  for (const r of recipients.slice(1)) {
    const res = await h.post(`/shops/${shop}/telegram/chats`, r)
    expect(res.status).toBe(201)
    ids.push(res.json.id)
  }
  return { shop, token, ids }
}

const to = (calls: Call[], chatId: string) => calls.filter((c) => String(c.payload.chat_id) === chatId)
const settle = (shop: number) =>
  eventually(
    async () =>
      (await h.sql`select count(*)::int as n from telegram_outbox where shop_id = ${shop} and state = 'pending' and next_attempt_at <= now()`)[0]!.n === 0,
    {
      message: 'outbox drained',
    },
  )

describe('recipients get exactly the messages they asked for', () => {
  test('owner (all), florists (new orders and cancellations), courier (statuses only), accountant (cancellations only) across create → done and cancel', async () => {
    const { shop, token } = await shopWithRecipients([
      { chatId: OWNER },
      { chatId: FLORISTS, events: ['order_created', 'order_cancelled'] },
      { chatId: COURIER, events: ['order_status'] },
      { chatId: ACCOUNTANT, events: ['order_cancelled'] },
    ])
    const created = await h.post(`/shops/${shop}/orders`, { number: 'R-1', total: 3200, customerName: 'Анна' })
    expect(created.status).toBe(201)
    expect(created.json.telegramStatus).toBe('sent')
    const orderId = created.json.order.id
    for (const status of ['accepted', 'assembling', 'delivering', 'done']) {
      expect((await h.request('PATCH', `/shops/${shop}/orders/${orderId}`, { status })).status).toBe(200)
      await settle(shop)
    }
    const cancelled = (await h.post(`/shops/${shop}/orders`, { number: 'R-2', total: 1500, customerName: 'Борис' })).json.order.id
    expect((await h.request('PATCH', `/shops/${shop}/orders/${cancelled}`, { status: 'cancelled' })).status).toBe(200)
    await settle(shop)

    const sends = h.fake.sent(token)
    const edits = h.fake.callsOf('editMessageText', token)
    // owner: both new-order messages, its own message edited for every status
    expect(to(sends, OWNER)).toHaveLength(2)
    expect(to(edits, OWNER).map((c) => String(c.payload.text).match(/<b>(Принят|Собирается|Доставляется|Выполнен|Отменён)<\/b>/)?.[1])).toEqual([
      'Принят',
      'Собирается',
      'Доставляется',
      'Выполнен',
      'Отменён',
    ])
    // florists: both new orders; their own messages are kept true by edits, no extra messages
    expect(to(sends, FLORISTS)).toHaveLength(2)
    expect(to(edits, FLORISTS)).toHaveLength(5)
    // courier: no new-order message, one short line per status change, nothing for the cancellation
    const courier = to(sends, COURIER).map((c) => String(c.payload.text))
    expect(courier).toHaveLength(4)
    expect(courier[0]).toContain('R-1')
    expect(courier.map((t) => t.match(/<b>(.+)<\/b>/)?.[1])).toEqual(['Принят', 'Собирается', 'Доставляется', 'Выполнен'])
    // accountant: only the cancellation
    const accountant = to(sends, ACCOUNTANT).map((c) => String(c.payload.text))
    expect(accountant).toHaveLength(1)
    expect(accountant[0]).toContain('R-2')
    expect(accountant[0]).toContain('Отменён')
    // the order list shows per-recipient detail; the log row is one per order
    const listed = (await h.get(`/shops/${shop}/orders`)).json.items.find((o: { id: number }) => o.id === orderId)
    expect(listed.recipients.map((r: { state: string }) => r.state)).toEqual(['sent', 'sent'])
    expect((await h.sql`select count(*)::int as n, min(status) as s from telegram_send_log where order_id = ${orderId}`)[0]).toEqual({ n: 1, s: 'SENT' })
  })

  test('a forum-topic recipient’s sends carry message_thread_id; quiet hours make sends silent, not late', async () => {
    const now = new Date()
    const hm = (d: Date) => d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Moscow', hourCycle: 'h23' })
    const quiet = { from: hm(new Date(now.getTime() - 3600_000)), to: hm(new Date(now.getTime() + 3600_000)) }
    const { shop, token } = await shopWithRecipients([
      { chatId: OWNER, quietHours: quiet },
      { chatId: FLORISTS, threadId: 77 },
    ])
    const before = Date.now()
    const r = await h.post(`/shops/${shop}/orders`, { number: 'T-1', total: 100, customerName: 'Вера' })
    expect(r.json.telegramStatus).toBe('sent')
    const sends = h.fake.sent(token)
    const owner = to(sends, OWNER)[0]!
    expect(owner.payload.disable_notification).toBe(true)
    expect(owner.at - before).toBeLessThan(3000)
    const topic = to(sends, FLORISTS)[0]!
    expect(topic.payload.message_thread_id).toBe(77)
    expect(topic.payload.disable_notification).toBeUndefined()
  })

  test('one recipient blocked the bot: the others still get everything, the blocked one shows why and does not block them', async () => {
    const { shop, token, ids } = await shopWithRecipients([{ chatId: OWNER }, { chatId: COURIER }])
    h.fake.behaveChat(token, COURIER, B.blocked)
    const r = await h.post(`/shops/${shop}/orders`, { number: 'B-1', total: 100, customerName: 'Глеб' })
    expect(r.json.telegramStatus).toBe('failed')
    const orderId = r.json.order.id
    expect((await h.request('PATCH', `/shops/${shop}/orders/${orderId}`, { status: 'accepted' })).status).toBe(200)
    await settle(shop)
    expect(to(h.fake.sent(token), OWNER)).toHaveLength(1)
    expect(to(h.fake.callsOf('editMessageText', token), OWNER)).toHaveLength(1)
    const chats = (await h.get(`/shops/${shop}/telegram/chats`)).json.items
    const blocked = chats.find((c: { id: number }) => c.id === ids[1])
    expect(blocked.state).toBe('failing')
    expect(blocked.lastErrorCode).toBe('bot_blocked')
    expect(chats.find((c: { id: number }) => c.id === ids[0]).state).toBe('active')
    const listed = (await h.get(`/shops/${shop}/orders`)).json.items.find((o: { id: number }) => o.id === orderId)
    expect(listed.recipients.map((x: { state: string; errorCode: string | null }) => [x.state, x.errorCode])).toEqual([
      ['sent', null],
      ['failed', 'bot_blocked'],
    ])
  })

  test('50 racing identical orders: one message per recipient', async () => {
    const { shop, token } = await shopWithRecipients([{ chatId: OWNER }, { chatId: FLORISTS }, { chatId: COURIER, events: ['order_created'] }])
    const rs = await Promise.all(Array.from({ length: 50 }, () => h.post(`/shops/${shop}/orders`, { number: 'RACE-1', total: 990, customerName: 'Дина' })))
    expect(rs.filter((r) => r.status === 201)).toHaveLength(1)
    expect(rs.filter((r) => r.status === 200)).toHaveLength(49)
    await settle(shop)
    for (const chat of [OWNER, FLORISTS, COURIER]) expect(to(h.fake.sent(token), chat)).toHaveLength(1)
  })

  test('a group that became a supergroup moves only that recipient', async () => {
    const { shop, token, ids } = await shopWithRecipients([{ chatId: OWNER }, { chatId: '-5550009' }])
    h.fake.behaveChat(token, '-5550009', B.migrate(-1005550009))
    await h.post(`/shops/${shop}/orders`, { number: 'M-1', total: 10, customerName: 'Ева' })
    await settle(shop)
    const rows = await h.sql<{ id: string; chat_id: string }[]>`select id, chat_id from telegram_chats where shop_id = ${shop} order by id`
    expect(rows.map((r) => r.chat_id)).toEqual([OWNER, '-1005550009'])
    expect(rows.map((r) => Number(r.id))).toEqual(ids)
    expect(to(h.fake.sent(token), '-1005550009')).toHaveLength(1)
  })

  test('the first attempt does not send into a chat whose pacing slot is busy: the dispatcher sends it when the slot opens', async () => {
    const paced = await createHarness({ delivery: { chatIntervalMs: 1500, groupIntervalMs: 1500 } })
    try {
      const token = makeToken()
      await paced.connect(1, token, OWNER)
      const a = await paced.post('/shops/1/orders', { number: 'P-1', total: 10, customerName: 'Ян' })
      const b = await paced.post('/shops/1/orders', { number: 'P-2', total: 10, customerName: 'Ян' })
      expect(a.json.telegramStatus).toBe('sent')
      expect(b.json.telegramStatus).toBe('pending')
      expect(paced.fake.sent(token)).toHaveLength(1)
      paced.services.start()
      await eventually(() => paced.fake.sent(token).length === 2, { message: 'second send after the slot', timeoutMs: 5000 })
      const [first, second] = paced.fake.sent(token)
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(1400)
    } finally {
      await paced.close()
    }
  })

  test('recipients finishing the same order at once: the log row says SENT exactly when all of them have it', async () => {
    const { shop } = await shopWithRecipients([{ chatId: '5551001' }, { chatId: '5551002' }, { chatId: '5551003' }, { chatId: '5551004' }])
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => h.post(`/shops/${shop}/orders`, { number: `C-${i}`, total: 10, customerName: 'Кира' })))
    // a chat busy with another of these orders leaves the message to the dispatcher (pending), never fails
    expect(rs.every((r) => r.json.telegramStatus === 'sent' || r.json.telegramStatus === 'pending')).toBe(true)
    await settle(shop)
    // the last recipient to finish writes SENT after its outbox row is done (a locked re-check in its
    // own transaction), so the drained outbox can be seen a moment before the last log row
    const logs = () => h.sql<{ status: string; n: number }[]>`select status, count(*)::int as n from telegram_send_log where shop_id = ${shop} group by status`
    await eventually(async () => (await logs()).reduce((a, r) => a + r.n, 0) === 20, { message: 'a log row per order' }).catch(() => {})
    expect([...(await logs())]).toEqual([{ status: 'SENT', n: 20 }])
  })
})
