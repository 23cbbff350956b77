import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B, makeToken, type Call } from './fake-telegram'
import { createHarness, eventually, expectNoSecrets, one, type Harness } from './helpers'

/**
 * Acting on an order from Telegram: the «Принять» button (webhook and poller), status changes by
 * PATCH, and the message edited in place through the outbox.
 */
let hw: Harness
let hp: Harness
const tokens: string[] = []
let updateId = 90_000

type Button = { text: string; callback_data?: string; url?: string }
const buttons = (c: Call) => ((c.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat()

async function orderWithMessage(h: Harness, opts: { chatId?: string } = {}) {
  const shopId = await h.shop('Флора')
  const token = makeToken()
  tokens.push(token)
  await h.connect(shopId, token, opts.chatId ?? '6060')
  const r = await h.post(`/shops/${shopId}/orders`, { number: `ACT-${shopId}`, total: 3500, customerName: 'Ирина' })
  expect(r.json.telegramStatus).toBe('sent')
  const sent = h.fake.sent(token).at(-1)!
  const log = one(await h.sql`select message_id, chat_id from telegram_send_log where order_id = ${r.json.order.id}`)
  return { shopId, token, orderId: r.json.order.id as number, sent, messageId: Number(log.message_id), chatId: Number(log.chat_id) }
}

const press = (data: string | undefined, messageId: number, chatId: number, from = { id: 501, first_name: 'Ольга', last_name: 'Петрова' }) => ({
  update_id: ++updateId,
  callback_query: { id: `cb${updateId}`, from: { is_bot: false, ...from }, data, chat_instance: 'x', message: { message_id: messageId, date: 0, chat: { id: chatId, type: 'private' } } },
})
const answers = (h: Harness, token: string) => h.fake.callsOf('answerCallbackQuery', token).map((c) => String(c.payload.text))
const edits = (h: Harness, token: string) => h.fake.callsOf('editMessageText', token)

beforeAll(async () => {
  hw = await createHarness({ listen: true })
  hp = await createHarness({ fake: hw.fake })
  hw.services.dispatcher.start()
})
afterAll(async () => {
  expectNoSecrets([...hw.responses, ...hw.logs, ...hp.responses, ...hp.logs], tokens)
  await hp.close()
  await hw.close()
})

describe('buttons on the order message', () => {
  test('«Принять» carries short signed data; «Открыть» links to our page when PUBLIC_URL is set', async () => {
    const { sent, orderId, shopId } = await orderWithMessage(hw)
    const [accept, open] = buttons(sent)
    expect(accept!.text).toBe('Принять')
    expect(accept!.callback_data).toMatch(new RegExp(`^a:${orderId}:[A-Za-z0-9_-]{12}$`))
    expect(Buffer.byteLength(accept!.callback_data!)).toBeLessThanOrEqual(64)
    expect(open).toEqual({ text: 'Открыть', url: `${hw.base}/shops/${shopId}/growth/telegram?order=${orderId}#order-${orderId}` })
  })

  test('without PUBLIC_URL there is only «Принять»', async () => {
    const { sent } = await orderWithMessage(hp)
    expect(buttons(sent).map((b) => b.text)).toEqual(['Принять'])
  })
})

describe('«Принять» in the chat', () => {
  test('accepts the order for that Telegram user, answers with a toast and edits the message without the button', async () => {
    const { shopId, token, orderId, sent, messageId, chatId } = await orderWithMessage(hw)
    const res = await hw.fake.deliver(token, press(buttons(sent)[0]!.callback_data, messageId, chatId))
    expect(res.status).toBe(200)
    const o = one(await hw.sql`select status, accepted_by, accepted_by_tg_id, accepted_at from orders where id = ${orderId}`)
    expect(o).toMatchObject({ status: 'accepted', accepted_by: 'Ольга Петрова', accepted_by_tg_id: '501' })
    expect(answers(hw, token)).toEqual([`Вы приняли заказ №ACT-${shopId}`])
    const edit = await eventually(() => edits(hw, token)[0], { message: 'the message edited' })
    const hhmm = new Date(o.accepted_at).toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Moscow' })
    expect(String(edit.payload.text)).toContain(`<b>Принят</b>: Ольга Петрова, ${hhmm}`)
    expect(edit.payload.message_id).toBe(messageId)
    expect(buttons(edit).map((b) => b.text)).toEqual(['Открыть'])
  })

  test('a second press, or a press by someone else, gets a polite toast and changes nothing', async () => {
    const { token, orderId, sent, messageId, chatId } = await orderWithMessage(hw)
    const data = buttons(sent)[0]!.callback_data
    await hw.fake.deliver(token, press(data, messageId, chatId))
    await hw.fake.deliver(token, press(data, messageId, chatId))
    await hw.fake.deliver(token, press(data, messageId, chatId, { id: 777, first_name: 'Сергей', last_name: '' }))
    const a = answers(hw, token)
    expect(a[1]).toStartWith('Заказ уже принят: вами')
    expect(a[2]).toStartWith('Заказ уже принят: Ольга Петрова')
    const o = one(await hw.sql`select accepted_by_tg_id from orders where id = ${orderId}`)
    expect(o.accepted_by_tg_id).toBe('501')
    await eventually(() => edits(hw, token).length === 1, { message: 'one edit' })
  })

  test('ten people pressing at once: exactly one accepts', async () => {
    const { token, orderId, sent, messageId, chatId } = await orderWithMessage(hw)
    const data = buttons(sent)[0]!.callback_data
    await Promise.all(Array.from({ length: 10 }, (_, i) => hw.fake.deliver(token, press(data, messageId, chatId, { id: 1000 + i, first_name: `Флорист ${i}`, last_name: '' }))))
    const a = answers(hw, token)
    expect(a.filter((t) => t.startsWith('Вы приняли')).length).toBe(1)
    expect(a.filter((t) => t.startsWith('Заказ уже принят')).length).toBe(9)
    const o = one(await hw.sql`select status from orders where id = ${orderId}`)
    expect(o.status).toBe('accepted')
  })

  test('a press for another shop’s order, forged data, or from another message is refused', async () => {
    const a = await orderWithMessage(hw)
    const b = await orderWithMessage(hw)
    const aData = buttons(a.sent)[0]!.callback_data!
    // Shop A's button delivered to shop B's bot (e.g. a forwarded message or a crafted client).
    await hw.fake.deliver(b.token, press(aData, a.messageId, a.chatId))
    // B's order id with a made-up signature.
    await hw.fake.deliver(b.token, press(`a:${b.orderId}:AAAAAAAAAAAA`, b.messageId, b.chatId))
    // B's genuine data but from a different message of the chat.
    await hw.fake.deliver(b.token, press(buttons(b.sent)[0]!.callback_data, b.messageId + 1, b.chatId))
    await hw.fake.deliver(b.token, press(undefined, b.messageId, b.chatId))
    expect(answers(hw, b.token)).toEqual(Array(4).fill('Эта кнопка не относится к заказам этого магазина'))
    const rows = await hw.sql`select status from orders where id in (${a.orderId}, ${b.orderId})`
    expect(rows.map((r) => r.status)).toEqual(['new', 'new'])
  })

  test('works through the poller too (no PUBLIC_URL)', async () => {
    const { token, orderId, sent, messageId, chatId } = await orderWithMessage(hp)
    hp.fake.pushUpdate(token, press(buttons(sent)[0]!.callback_data, messageId, chatId))
    hp.services.start()
    await eventually(async () => one(await hp.sql`select status from orders where id = ${orderId}`).status === 'accepted', { message: 'accepted via polling' })
    await eventually(() => edits(hp, token).length === 1, { message: 'edited via the dispatcher' })
    expect(buttons(edits(hp, token)[0]!)).toEqual([])
    await hp.services.stop()
  })
})

describe('PATCH status', () => {
  test('valid steps edit the message each time; the same status again is a no-op', async () => {
    const { shopId, token, orderId, messageId } = await orderWithMessage(hw)
    const path = `/shops/${shopId}/orders/${orderId}`
    const steps: [string, string][] = [['accepted', 'Принят'], ['assembling', 'Собирается'], ['delivering', 'Доставляется'], ['done', 'Выполнен']]
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
    const { shopId, orderId } = await orderWithMessage(hw)
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
    const { shopId, token, orderId } = await orderWithMessage(hw)
    hw.fake.queue(token, B.e500, B.e500)
    await hw.request('PATCH', `/shops/${shopId}/orders/${orderId}`, { status: 'accepted' })
    await eventually(async () => (await hw.sql`select 1 from telegram_outbox where order_id = ${orderId} and kind = 'order_status' and state = 'done'`).length === 1, { message: 'edit done' })
    expect(edits(hw, token).length).toBe(3)
    expect(one(await hw.sql`select attempts from telegram_outbox where order_id = ${orderId} and kind = 'order_status'`).attempts).toBe(3)
  })

  test('"message is not modified" counts as success', async () => {
    const { shopId, token, orderId } = await orderWithMessage(hw)
    hw.fake.behaveMethod(token, 'editMessageText', B.notModified)
    await hw.request('PATCH', `/shops/${shopId}/orders/${orderId}`, { status: 'accepted' })
    const d = await eventually(async () => (await hw.sql`select state, attempts, last_error from telegram_outbox where order_id = ${orderId} and kind = 'order_status' and state <> 'pending'`)[0], { message: 'edit settled' })
    expect(d).toMatchObject({ state: 'done', attempts: 1, last_error: null })
    expect(edits(hw, token).length).toBe(1)
  })

  test('a deleted message is replaced by one new message with the current status', async () => {
    const { shopId, token, orderId, chatId } = await orderWithMessage(hw)
    hw.fake.behaveMethod(token, 'editMessageText', B.messageGone)
    const before = hw.fake.sent(token).length
    await hw.request('PATCH', `/shops/${shopId}/orders/${orderId}`, { status: 'accepted' })
    await eventually(async () => (await hw.sql`select 1 from telegram_outbox where order_id = ${orderId} and kind = 'order_status' and state = 'done'`).length === 1, { message: 'edit done' })
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
    const token = makeToken()
    tokens.push(token)
    await hw.connect(shopId, token, '7070')
    hw.fake.queue(token, B.tooMany(1))
    const r = await hw.post(`/shops/${shopId}/orders`, { number: 'LATE-1', total: 10, customerName: 'Лиза' })
    expect(r.json.telegramStatus).toBe('failed')
    await hw.request('PATCH', `/shops/${shopId}/orders/${r.json.order.id}`, { status: 'accepted' })
    await eventually(async () => (await hw.sql`select 1 from telegram_send_log where order_id = ${r.json.order.id} and status = 'SENT'`).length === 1, { timeoutMs: 8000, message: 'notification sent' })
    const sent = hw.fake.sent(token).filter((c) => String(c.payload.text).includes('LATE-1'))
    expect(sent.length).toBe(2) // the 429 and the delivered one
    expect(String(sent[1]!.payload.text)).toContain('<b>Принят</b>')
    await eventually(async () => (await hw.sql`select 1 from telegram_outbox where order_id = ${r.json.order.id} and kind = 'order_status' and state = 'done'`).length === 1, { timeoutMs: 8000, message: 'edit settled' })
    expect(hw.fake.sent(token).filter((c) => String(c.payload.text).includes('LATE-1')).length).toBe(2)
  })
})
