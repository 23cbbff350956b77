import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHarnessPair, eventually, one, type Harness, type HarnessPair } from '../helpers'
import { answers, buttons, edits, orderWithMessage, press } from '../orders/fixtures'

/** «Принять» pressed in the chat (webhook and poller): one person accepts, everyone else gets a polite toast. */
let pair: HarnessPair
let hw: Harness
let hp: Harness
beforeAll(async () => ({ hw, hp } = pair = await createHarnessPair({ dispatcher: true })))
afterAll(() => pair.close())

describe('«Принять» in the chat', () => {
  test('accepts the order for that Telegram user, answers with a toast and edits the message without the button', async () => {
    const { shopId, token, orderId, sent, messageId, chatId } = await orderWithMessage(hw, pair.newToken())
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
    const { token, orderId, sent, messageId, chatId } = await orderWithMessage(hw, pair.newToken())
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
    const { token, orderId, sent, messageId, chatId } = await orderWithMessage(hw, pair.newToken())
    const data = buttons(sent)[0]!.callback_data
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => hw.fake.deliver(token, press(data, messageId, chatId, { id: 1000 + i, first_name: `Флорист ${i}`, last_name: '' }))),
    )
    const a = answers(hw, token)
    expect(a.filter((t) => t.startsWith('Вы приняли')).length).toBe(1)
    expect(a.filter((t) => t.startsWith('Заказ уже принят')).length).toBe(9)
    const o = one(await hw.sql`select status from orders where id = ${orderId}`)
    expect(o.status).toBe('accepted')
  })

  test('a press for another shop’s order, forged data, or from a chat that is not the shop’s is refused', async () => {
    const a = await orderWithMessage(hw, pair.newToken())
    const b = await orderWithMessage(hw, pair.newToken())
    const aData = buttons(a.sent)[0]!.callback_data!
    // Shop A's button delivered to shop B's bot (e.g. a forwarded message or a crafted client).
    await hw.fake.deliver(b.token, press(aData, a.messageId, a.chatId))
    // B's order id with a made-up signature.
    await hw.fake.deliver(b.token, press(`a:${b.orderId}:AAAAAAAAAAAA`, b.messageId, b.chatId))
    // B's genuine data but from a chat that does not get B's orders (a crafted client, a forwarded copy).
    await hw.fake.deliver(b.token, press(buttons(b.sent)[0]!.callback_data, b.messageId, 424242))
    await hw.fake.deliver(b.token, press(undefined, b.messageId, b.chatId))
    expect(answers(hw, b.token)).toEqual(Array(4).fill('Эта кнопка не относится к заказам этого магазина'))
    const rows = await hw.sql`select status from orders where id in (${a.orderId}, ${b.orderId})`
    expect(rows.map((r) => r.status)).toEqual(['new', 'new'])
  })

  test('works through the poller too (no PUBLIC_URL)', async () => {
    const { token, orderId, sent, messageId, chatId } = await orderWithMessage(hp, pair.newToken())
    hp.fake.pushUpdate(token, press(buttons(sent)[0]!.callback_data, messageId, chatId))
    hp.services.start()
    await eventually(async () => one(await hp.sql`select status from orders where id = ${orderId}`).status === 'accepted', { message: 'accepted via polling' })
    await eventually(() => edits(hp, token).length === 1, { message: 'edited via the dispatcher' })
    expect(buttons(edits(hp, token)[0]!)).toEqual([])
    await hp.services.stop()
  })
})
