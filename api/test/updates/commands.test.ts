import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken, type Call } from '../fake-telegram'
import { createHarness, eventually, expectNoSecrets, one, type Harness } from '../helpers'

/**
 * The florist asks the bot: `/today`, `/orders` (paged with buttons), `/order 1234` (with its buttons).
 * Only in the shop's recipient chats; a stranger writing to the bot gets nothing at all.
 */
let h: Harness
const tokens: string[] = []
let updateId = 310_000

type Button = { text: string; callback_data?: string; url?: string }
const buttons = (c: Call) => ((c.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).map((r) => r.map((b) => b))
const texts = (c: Call) => buttons(c).map((r) => r.map((b) => b.text))

const say = (chatId: number, text: string, extra: Record<string, unknown> = {}) => ({
  update_id: ++updateId,
  message: {
    message_id: updateId,
    date: Math.floor(Date.now() / 1000),
    chat: { id: chatId, type: chatId < 0 ? 'supergroup' : 'private' },
    from: { id: 77, is_bot: false, first_name: 'Ольга' },
    text,
    ...extra,
  },
})
const press = (data: string, messageId: number, chatId: number) => ({
  update_id: ++updateId,
  callback_query: {
    id: `cb${updateId}`,
    from: { id: 77, is_bot: false, first_name: 'Ольга', last_name: 'Петрова' },
    data,
    chat_instance: 'x',
    message: { message_id: messageId, date: 0, chat: { id: chatId, type: 'private' } },
  },
})

/** Everything the bot said into one chat since `from` (sends and edits). */
const toChat = (token: string, chatId: number, method = 'sendMessage') =>
  h.fake.callsOf(method, token).filter((c) => String(c.payload.chat_id) === String(chatId))

async function shopWithOrders(n: number, opts: { chatId: number; day?: string } = { chatId: 0 }) {
  const shopId = await h.shop('Флора')
  const token = makeToken()
  tokens.push(token)
  await h.connect(shopId, token, String(opts.chatId))
  const ids: number[] = []
  for (let i = 1; i <= n; i++) {
    const r = await h.post(`/shops/${shopId}/orders`, {
      number: `${shopId}-${i}`,
      total: 1000 + i,
      customerName: `Клиент ${i}`,
      ...(opts.day ? { deliveryDate: opts.day, deliveryTime: i % 2 ? '10:00–12:00' : '15:00', address: `ул. Мира, ${i}` } : {}),
    })
    expect(r.status).toBe(201)
    ids.push(r.json.order.id)
  }
  return { shopId, token, ids }
}

beforeAll(async () => {
  h = await createHarness({ listen: true })
})
afterAll(async () => {
  expectNoSecrets([...h.responses, ...h.logs], tokens)
  await h.close()
})

describe('bot commands', () => {
  test('connecting a bot registers the command menu with setMyCommands', async () => {
    const { token } = await shopWithOrders(0, { chatId: 3100 })
    const call = one(h.fake.callsOf('setMyCommands', token))
    expect((call.payload.commands as { command: string }[]).map((c) => c.command)).toEqual(['today', 'orders', 'order', 'help'])
  })

  test('/today lists today’s deliveries in the shop’s time zone with their state', async () => {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Moscow' }).format(new Date())
    const { shopId, token, ids } = await shopWithOrders(3, { chatId: 3101, day: today })
    await h.request('PATCH', `/shops/${shopId}/orders/${ids[1]}`, { status: 'accepted' })
    await h.fake.deliver(token, say(3101, '/today'))
    const reply = await eventually(() => toChat(token, 3101).find((c) => String(c.payload.text).startsWith('☀️')), { message: '/today answered' })
    const text = String(reply.payload.text)
    expect(text).toContain(`Всего: 3 на 3\u00a0006\u00a0₽ · <b>не приняты: 2</b>`)
    expect(text.indexOf('<b>10:00–12:00</b>')).toBeLessThan(text.indexOf('<b>15:00</b>'))
    expect(text).toMatch(new RegExp(`№${shopId}-2 ул\\. Мира, 2 — Принят`))
  })

  test('/orders shows five a page; «Старее ›» edits the same message to the next page; a number opens the order with «Принять», which works', async () => {
    const { shopId, token, ids } = await shopWithOrders(7, { chatId: 3102 })
    await h.fake.deliver(token, say(3102, '/orders'))
    const list = await eventually(() => toChat(token, 3102).find((c) => String(c.payload.text).startsWith('📋')), { message: '/orders answered' })
    const first = String(list.payload.text)
    for (const i of [7, 6, 5, 4, 3]) expect(first).toContain(`№${shopId}-${i}</b>`)
    expect(first).not.toContain(`№${shopId}-2</b>`)
    expect(texts(list)).toEqual([[7, 6, 5, 4, 3].map((i) => `№${shopId}-${i}`), ['Старее ›']])

    const listMessageId = messageIdOf(list)
    await h.fake.deliver(token, press(buttons(list)[1]![0]!.callback_data!, listMessageId, 3102))
    const edit = await eventually(() => toChat(token, 3102, 'editMessageText')[0], { message: 'the page turned' })
    expect(edit.payload.message_id).toBe(listMessageId)
    expect(String(edit.payload.text)).toContain('страница 2')
    expect(String(edit.payload.text)).toContain(`№${shopId}-1</b>`)
    expect(texts(edit)).toEqual([[2, 1].map((i) => `№${shopId}-${i}`), ['‹ Новее']])
    expect(h.fake.callsOf('answerCallbackQuery', token).length).toBe(1)

    // a number button sends that order's card with «Принять»
    await h.fake.deliver(token, press(buttons(edit)[0]![1]!.callback_data!, listMessageId, 3102))
    const card = await eventually(
      () =>
        toChat(token, 3102).find(
          (c) =>
            String(c.payload.text).includes(`№${shopId}-1</b>`) && !String(c.payload.text).startsWith('📋') && c !== list && texts(c)[0]?.[0] === 'Принять',
        ),
      {
        message: 'the order card',
      },
    )
    await h.fake.deliver(token, press(buttons(card)[0]![0]!.callback_data!, messageIdOf(card), 3102))
    await eventually(async () => one(await h.sql`select status from orders where id = ${ids[0]!}`).status === 'accepted', { message: 'accepted from the card' })
    expect(h.fake.callsOf('answerCallbackQuery', token).map((c) => c.payload.text)).toContain(`Вы приняли заказ №${shopId}-1`)
  })

  test('/order <number> answers with the order as its notification shows it, or says it is not found', async () => {
    const { shopId, token, ids } = await shopWithOrders(2, { chatId: 3103 })
    for (const status of ['accepted', 'assembling']) expect((await h.request('PATCH', `/shops/${shopId}/orders/${ids[0]}`, { status })).status).toBe(200)
    await h.fake.deliver(token, say(3103, `/order ${shopId}-1`))
    await h.fake.deliver(token, say(3103, '/order №NOPE'))
    await h.fake.deliver(token, say(3103, '/order'))
    // the first two messages of the chat are the orders' notifications; the answers follow
    const replies = await eventually(() => (toChat(token, 3103).length >= 5 ? toChat(token, 3103).slice(2) : null), { message: 'three answers' })
    const card = replies.find((c) => String(c.payload.text).includes(`№${shopId}-1</b>`))!
    expect(String(card.payload.text)).toContain('<b>Собирается</b>')
    // no «Принять» once it is being assembled; «Открыть» leads to the order's page (the harness has a PUBLIC_URL)
    expect(texts(card)).toEqual([['Открыть']])
    expect(buttons(card)[0]![0]!.url).toContain(`/shops/${shopId}/growth/telegram?order=${ids[0]}`)
    expect(replies.map((c) => String(c.payload.text))).toContain('Заказ №NOPE не найден. Последние заказы: /orders')
    expect(replies.map((c) => String(c.payload.text))).toContain('Напишите номер заказа: <code>/order 1234</code>')
  })

  test('a chat that is not the shop’s gets nothing: no /today, /orders, /order, no page turns, not even a refusal', async () => {
    const { shopId, token } = await shopWithOrders(2, { chatId: 3104 })
    const stranger = 9_000_001
    for (const t of ['/today', '/orders', `/order ${shopId}-1`, `/orders@shop${token.split(':')[0]}_bot`]) await h.fake.deliver(token, say(stranger, t))
    // the shop's own group addressing another bot is not for us either
    await h.fake.deliver(token, say(3104, '/orders@someone_else_bot'))
    await h.fake.deliver(token, press('o:1', 5, stranger))
    await h.services.updates.settle()
    expect(toChat(token, stranger)).toEqual([])
    expect(toChat(token, stranger, 'editMessageText')).toEqual([])
    expect(toChat(token, 3104).filter((c) => String(c.payload.text).startsWith('📋'))).toEqual([])
    // the page-turn press from a stranger only gets the standard refusal toast
    expect(h.fake.callsOf('answerCallbackQuery', token).map((c) => c.payload.text)).toEqual(['Эта кнопка не относится к заказам этого магазина'])
    expect(h.logs.some((l) => l.includes('"command_ignored"'))).toBe(true)
  })

  test('in a forum topic the answer goes to the same topic', async () => {
    const { token } = await shopWithOrders(1, { chatId: -1003105 })
    await h.fake.deliver(token, say(-1003105, '/orders', { message_thread_id: 42, is_topic_message: true }))
    const list = await eventually(() => toChat(token, -1003105).find((c) => String(c.payload.text).startsWith('📋')), { message: 'answered in the topic' })
    expect(list.payload.message_thread_id).toBe(42)
  })
})

/** The message id the fake Bot API gave to a recorded sendMessage call. */
function messageIdOf(c: Call): number {
  const id = Number((c.result as { message_id?: number } | undefined)?.message_id)
  expect(id).toBeGreaterThan(0)
  return id
}
