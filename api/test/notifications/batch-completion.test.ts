import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'

/**
 * Finished new-order sends are recorded in batches (notifications/batch-completer.ts) and intake never
 * waits for a busy chat row (orders/repository.ts insertOrders): issue 27. What a shop sees must not
 * change: every recipient's message on record, one SENT per order showing the first recipient's
 * message, the 7-day counts, and status edits reaching every message.
 */
let h: Harness
const order = (number: string) => ({ number, total: 990, customerName: 'Ирина' })

beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

describe('batched completion', () => {
  test('a burst to a shop with two recipients: sends recorded in batches, every record as one by one, edits reach both messages', async () => {
    const shopId = await h.shop()
    const token = makeToken()
    await h.connect(shopId, token, '7300001')
    const add = await h.post(`/shops/${shopId}/telegram/chats`, { chatId: '7300002', events: ['order_created', 'order_status'] })
    expect(add.status).toBe(201)
    const before = { ...h.services.delivery.completer.stats }

    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => h.post(`/shops/${shopId}/orders`, order(`BC-${i}`))))
    expect(rs.map((r) => r.status)).toEqual(Array(30).fill(201))
    expect(rs.map((r) => r.json.telegramStatus)).toEqual(Array(30).fill('sent'))
    const stats = h.services.delivery.completer.stats
    expect(stats.sends - before.sends).toBe(60)
    // several sends really shared a statement
    expect(stats.largest).toBeGreaterThan(1)
    expect(stats.batches - before.batches).toBeLessThan(60)

    const ids = rs.map((r) => Number(r.json.order.id))
    const rows = await h.sql<{ state: string; attempts: number; locked_by: string | null; n: number }[]>`
      select state, attempts, locked_by, count(*)::int as n from telegram_outbox
      where order_id = any(${ids}::bigint[]) and kind = 'order' group by 1, 2, 3`
    expect([...rows]).toEqual([{ state: 'done', attempts: 1, locked_by: null, n: 60 }])
    // each recipient's message on record, with the message id Telegram gave it
    const sent = h.fake.sent(token)
    expect(sent).toHaveLength(60)
    const messages = await h.sql<{ order_id: string; chat_id: string; message_id: string }[]>`
      select m.order_id, m.chat_id, m.message_id from telegram_messages m where m.order_id = any(${ids}::bigint[]) order by m.order_id, m.chat_ref`
    expect(messages).toHaveLength(60)
    const given = new Set(sent.map((c) => `${c.payload.chat_id}:${(c.result as { message_id: number }).message_id}`))
    for (const m of messages) expect(given.has(`${m.chat_id}:${m.message_id}`)).toBe(true)
    // one SENT row per order, showing the first recipient's message
    const log = await h.sql<{ order_id: string; status: string; chat_id: string; message_id: string }[]>`
      select order_id, status, chat_id, message_id from telegram_send_log where order_id = any(${ids}::bigint[]) order by order_id`
    expect(log).toHaveLength(30)
    for (const l of log) {
      expect(l.status).toBe('SENT')
      expect(l.chat_id).toBe('7300001')
      expect(messages.find((m) => m.order_id === l.order_id && m.chat_id === '7300001')!.message_id).toBe(l.message_id)
    }
    // the counts the status route shows come from the per-hour counters the send log feeds
    const status = await h.get(`/shops/${shopId}/telegram/status`)
    expect(status.json).toMatchObject({ sentCount: 30, failedCount: 0, state: 'active' })

    // a status change edits both recipients' messages in place, found through the recorded rows
    const target = rs[7]!.json.order
    const patched = await h.request('PATCH', `/shops/${shopId}/orders/${target.id}`, { status: 'accepted' })
    expect(patched.status).toBe(200)
    h.services.dispatcher.start()
    const edits = await eventually(
      () => {
        const e = h.fake.callsOf('editMessageText', token)
        return e.length >= 2 ? e : null
      },
      { timeoutMs: 10_000, message: 'both messages edited' },
    )
    const mine = messages.filter((m) => m.order_id === String(target.id))
    expect(edits.map((e) => `${e.payload.chat_id}:${e.payload.message_id}`).sort()).toEqual(mine.map((m) => `${m.chat_id}:${m.message_id}`).sort())
    await h.services.dispatcher.stop()
  }, 30_000)

  test('a chat whose row is busy does not make intake wait: the order is stored at once and left to the dispatcher', async () => {
    const shopId = await h.shop()
    const token = makeToken()
    await h.connect(shopId, token, '7300011')
    const [chat] = await h.sql<{ id: string }[]>`select id from telegram_chats where shop_id = ${shopId}`
    // hold the chat's row the way a claim or a completion does, in a transaction left open
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    let locked!: () => void
    const isLocked = new Promise<void>((r) => (locked = r))
    const tx = h.sql.begin(async (t) => {
      await t`select id from telegram_chats where id = ${chat!.id} for no key update`
      locked()
      await held
    })
    await isLocked
    let answered = false
    const post = h.post(`/shops/${shopId}/orders`, order('BUSY-1')).then((r) => {
      answered = true
      return r
    })
    try {
      // the request answers while the row is still held: it never queued on the chat's lock
      await eventually(() => answered, { timeoutMs: 10_000, message: 'the order answered while the chat row is held' })
    } finally {
      release()
      await tx
    }
    const r = await post
    expect(r.status).toBe(201)
    expect(r.json.telegramStatus).toBe('pending')
    const [row] = await h.sql<{ state: string; locked_by: string | null }[]>`
      select state, locked_by from telegram_outbox where order_id = ${r.json.order.id} and kind = 'order'`
    expect(row).toEqual({ state: 'pending', locked_by: null })
    // once the row is free the dispatcher sends it
    h.services.dispatcher.start()
    await eventually(() => h.fake.sent(token).some((c) => String(c.payload.text).includes('BUSY-1')), {
      timeoutMs: 10_000,
      message: 'the dispatcher sending the order',
    })
    await h.services.dispatcher.stop()
    const [done] = await h.sql<{ status: string }[]>`select status from telegram_send_log where order_id = ${r.json.order.id}`
    expect(done?.status).toBe('SENT')
  }, 30_000)
})
