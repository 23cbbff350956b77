import { expect } from 'bun:test'
import { makeToken, type Call } from '../fake-telegram'
import { eventually, type Harness } from '../helpers'

/** The courier feature's set-up: a shop with a staff chat and a couriers' group, an order with a delivery, presses as Telegram sends them. */
export const STAFF_CHAT = '6060'
export const COURIER_CHAT = '-1007770001'

export type Button = { text: string; callback_data?: string; url?: string; copy_text?: { text: string } }
export const buttons = (c: Call) => ((c.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat()

let updateId = 500_000
export const nextUpdateId = () => ++updateId

export async function courierShop(h: Harness, opts: { acceptWithinMinutes?: number | null } = {}) {
  const shopId = await h.shop('Флора')
  const token = makeToken('C')
  await h.connect(shopId, token, STAFF_CHAT)
  const r = await h.post(`/shops/${shopId}/telegram/chats`, { chatId: COURIER_CHAT, role: 'courier' })
  expect(r.status).toBe(201)
  if (opts.acceptWithinMinutes !== undefined)
    expect((await h.request('PATCH', `/shops/${shopId}/telegram/settings`, { acceptWithinMinutes: opts.acceptWithinMinutes })).status).toBe(200)
  return { shopId, token, courierRecipientId: r.json.id as number }
}

export const ORDER = {
  total: 7350,
  customerName: 'Анна Покупателева',
  customerPhone: '+7 900 111-22-33',
  recipientName: 'Мария',
  recipientPhone: '+7 900 444-55-66',
  deliveryDate: '2026-03-08',
  deliveryTime: '14:00–16:00',
  address: 'ул. Ленина, 5, кв. 12',
  comment: 'Позвонить за час',
  items: [{ name: 'Розы красные', quantity: 25, price: 7350 }],
}

/** An order moved to `assembling` (the couriers' card goes out then), with the card seen in the couriers' chat. */
export async function assemblingOrder(h: Harness, shopId: number, token: string, number: string, extra: Record<string, unknown> = {}) {
  const r = await h.post(`/shops/${shopId}/orders`, { number, ...ORDER, ...extra })
  expect(r.status).toBe(201)
  const orderId = r.json.order.id as number
  for (const status of ['accepted', 'assembling']) expect((await h.request('PATCH', `/shops/${shopId}/orders/${orderId}`, { status })).status).toBe(200)
  const card = await eventually(
    () => h.fake.sent(token).find((c) => String(c.payload.chat_id) === COURIER_CHAT && String(c.payload.text).includes(`№${number}`)),
    { message: 'the delivery card in the couriers’ chat' },
  )
  return { orderId, card, messageId: (card.result as { message_id: number }).message_id }
}

export const user = (id: number, first_name: string, last_name = '') => ({ id, is_bot: false, first_name, last_name })

export const press = (data: string | undefined, messageId: number, chatId: string | number, from: ReturnType<typeof user>) => {
  const id = nextUpdateId()
  return {
    update_id: id,
    callback_query: {
      id: `cq${id}`,
      from,
      data,
      chat_instance: 'x',
      message: { message_id: messageId, date: 0, chat: { id: Number(chatId), type: Number(chatId) < 0 ? 'supergroup' : 'private' } },
    },
  }
}

export const privateMessage = (from: ReturnType<typeof user>, m: { text?: string; photo?: { file_id: string }[] }) => {
  const id = nextUpdateId()
  return { update_id: id, message: { message_id: id, date: 0, chat: { id: from.id, type: 'private', first_name: from.first_name }, from, ...m } }
}

/** What the answers to presses said (text or url), in order. */
export const answers = (h: Harness, token: string) =>
  h.fake.callsOf('answerCallbackQuery', token).map((c) => (c.payload.url ? `url:${c.payload.url}` : String(c.payload.text ?? '')))
