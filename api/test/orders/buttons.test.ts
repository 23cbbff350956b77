import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken, type Call } from '../fake-telegram'
import { createHarness, expectNoSecrets, one, type Harness } from '../helpers'

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

const _press = (data: string | undefined, messageId: number, chatId: number, from = { id: 501, first_name: 'Ольга', last_name: 'Петрова' }) => ({
  update_id: ++updateId,
  callback_query: {
    id: `cb${updateId}`,
    from: { is_bot: false, ...from },
    data,
    chat_instance: 'x',
    message: { message_id: messageId, date: 0, chat: { id: chatId, type: 'private' } },
  },
})
const _answers = (h: Harness, token: string) => h.fake.callsOf('answerCallbackQuery', token).map((c) => String(c.payload.text))
const _edits = (h: Harness, token: string) => h.fake.callsOf('editMessageText', token)

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
