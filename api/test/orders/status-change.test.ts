import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B } from '../fake-telegram'
import { createHarnessPair, eventually, one, type Harness, type HarnessPair } from '../helpers'
import { edits, orderWithMessage } from './fixtures'

/** Status changes by PATCH: the order's message edited in place through the outbox, retried, replaced when gone. */
let pair: HarnessPair
let hw: Harness
beforeAll(async () => ({ hw } = pair = await createHarnessPair({ dispatcher: true })))
afterAll(() => pair.close())

describe('PATCH status', () => {
  test('valid steps edit the message each time; the same status again is a no-op', async () => {
    const { shopId, token, orderId, messageId } = await orderWithMessage(hw, pair.newToken())
    const path = `/shops/${shopId}/orders/${orderId}`
    const steps: [string, string][] = [
      ['accepted', 'Принят'],
      ['assembling', 'Собирается'],
      ['delivering', 'Доставляется'],
      ['done', 'Выполнен'],
    ]
    for (const [i, [status, label]] of steps.entries()) {
      const r = await hw.request('PATCH', path, { status, by: 'Администратор' })
      expect(r.status).toBe(200)
      expect(r.json).toMatchObject({ changed: true, telegramEdit: 'queued', order: { status } })
      const edit = await eventually(() => edits(hw, token)[i], { message: `edit to ${status}` })
      expect(String(edit.payload.text)).toContain(`<b>${label}</b>`)
      expect(edit.payload.message_id).toBe(messageId)
    }
    const same = await hw.request('PATCH', path, { status: 'done' })
    expect(same.json).toMatchObject({ changed: false, telegramEdit: 'none' })
    const o = one(await hw.sql`select accepted_by from orders where id = ${orderId}`)
    expect(o.accepted_by).toBe('Администратор')
  })

  test('impossible steps are 409 and change nothing; bad input 4xx', async () => {
    const { shopId, orderId } = await orderWithMessage(hw, pair.newToken())
    const path = `/shops/${shopId}/orders/${orderId}`
    const skip = await hw.request('PATCH', path, { status: 'done' })
    expect(skip.status).toBe(409)
    expect(skip.json.error).toBe('invalid_transition')
    expect(skip.json.details).toEqual({ from: 'new', to: 'done', allowed: ['accepted', 'cancelled'] })
    expect((await hw.request('PATCH', path, { status: 'cancelled' })).status).toBe(200)
    expect((await hw.request('PATCH', path, { status: 'accepted' })).status).toBe(409)
    expect((await hw.request('PATCH', path, { status: 'lost' })).status).toBe(422)
    expect((await hw.request('PATCH', `/shops/${shopId}/orders/99999999`, { status: 'accepted' })).status).toBe(404)
    expect((await hw.request('PATCH', `/shops/${shopId}/orders/x`, { status: 'accepted' })).status).toBe(400)
    expect(one(await hw.sql`select status from orders where id = ${orderId}`).status).toBe('cancelled')
  })

  test('an order that had no notification changes status without any Telegram edit', async () => {
    const shopId = await hw.shop()
    const r = await hw.post(`/shops/${shopId}/orders`, { number: 'NO-TG', total: 1, customerName: 'Оля' })
    const p = await hw.request('PATCH', `/shops/${shopId}/orders/${r.json.order.id}`, { status: 'accepted' })
    expect(p.json).toMatchObject({ changed: true, telegramEdit: 'none' })
  })

  test('an edit that meets a 5xx is retried until it goes through', async () => {
    const { shopId, token, orderId } = await orderWithMessage(hw, pair.newToken())
    hw.fake.queue(token, B.e500, B.e500)
    await hw.request('PATCH', `/shops/${shopId}/orders/${orderId}`, { status: 'accepted' })
    await eventually(
      async () => (await hw.sql`select 1 from telegram_outbox where order_id = ${orderId} and kind = 'order_status' and state = 'done'`).length === 1,
      { message: 'edit done' },
    )
    expect(edits(hw, token).length).toBe(3)
    expect(one(await hw.sql`select attempts from telegram_outbox where order_id = ${orderId} and kind = 'order_status'`).attempts).toBe(3)
  })

  test('"message is not modified" counts as success', async () => {
    const { shopId, token, orderId } = await orderWithMessage(hw, pair.newToken())
    hw.fake.behaveMethod(token, 'editMessageText', B.notModified)
    await hw.request('PATCH', `/shops/${shopId}/orders/${orderId}`, { status: 'accepted' })
    const d = await eventually(
      async () =>
        (await hw.sql`select state, attempts, last_error from telegram_outbox where order_id = ${orderId} and kind = 'order_status' and state <> 'pending'`)[0],
      { message: 'edit settled' },
    )
    expect(d).toMatchObject({ state: 'done', attempts: 1, last_error: null })
    expect(edits(hw, token).length).toBe(1)
  })

  test('a deleted message is replaced by one new message with the current status', async () => {
    const { shopId, token, orderId, chatId } = await orderWithMessage(hw, pair.newToken())
    hw.fake.behaveMethod(token, 'editMessageText', B.messageGone)
    const before = hw.fake.sent(token).length
    await hw.request('PATCH', `/shops/${shopId}/orders/${orderId}`, { status: 'accepted' })
    await eventually(
      async () => (await hw.sql`select 1 from telegram_outbox where order_id = ${orderId} and kind = 'order_status' and state = 'done'`).length === 1,
      { message: 'edit done' },
    )
    const fresh = hw.fake.sent(token).slice(before)
    expect(fresh.length).toBe(1)
    expect(String(fresh[0]!.payload.text)).toContain('<b>Принят</b>')
    expect(Number(fresh[0]!.payload.chat_id)).toBe(chatId)
    // The log follows the new message, so the next edit targets it.
    const log = one(await hw.sql`select message_id from telegram_send_log where order_id = ${orderId}`)
    hw.fake.behaveMethod(token, 'editMessageText', B.ok)
    await hw.request('PATCH', `/shops/${shopId}/orders/${orderId}`, { status: 'assembling' })
    const last = await eventually(() => edits(hw, token).find((c) => String(c.payload.text).includes('Собирается')), { message: 'edit of the new message' })
    expect(last.payload.message_id).toBe(Number(log.message_id))
  })

  test('a status change while the notification is still retrying is shown by that notification, not a second message', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    await hw.connect(shopId, token, '7070')
    hw.fake.queue(token, B.tooMany(1))
    const r = await hw.post(`/shops/${shopId}/orders`, { number: 'LATE-1', total: 10, customerName: 'Лиза' })
    expect(r.json.telegramStatus).toBe('failed')
    await hw.request('PATCH', `/shops/${shopId}/orders/${r.json.order.id}`, { status: 'accepted' })
    await eventually(async () => (await hw.sql`select 1 from telegram_send_log where order_id = ${r.json.order.id} and status = 'SENT'`).length === 1, {
      timeoutMs: 8000,
      message: 'notification sent',
    })
    const sent = hw.fake.sent(token).filter((c) => String(c.payload.text).includes('LATE-1'))
    expect(sent.length).toBe(2) // the 429 and the delivered one
    expect(String(sent[1]!.payload.text)).toContain('<b>Принят</b>')
    await eventually(
      async () => (await hw.sql`select 1 from telegram_outbox where order_id = ${r.json.order.id} and kind = 'order_status' and state = 'done'`).length === 1,
      { timeoutMs: 8000, message: 'edit settled' },
    )
    expect(hw.fake.sent(token).filter((c) => String(c.payload.text).includes('LATE-1')).length).toBe(2)
  })
})
