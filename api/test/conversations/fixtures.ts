import { expect } from 'bun:test'
import { makeToken, type Call } from '../fake-telegram'
import { eventually, one, type Harness } from '../helpers'

/**
 * Set-up for the buyer tests: a shop whose bot writes to a staff group, an order with its message
 * there, and updates shaped as Telegram sends them (private chats, replies, photo arrays, presses).
 */
let updateId = 700_000
let messageId = 50_000
export const nextUpdateId = () => ++updateId

export type Person = { id: number; is_bot: false; first_name: string; last_name?: string; username?: string }
export const person = (id: number, first_name: string, username = `user_${id}`): Person => ({ id, is_bot: false, first_name, username })

/** A message in the person's private chat with the bot. */
export function privateMessage(from: Person, fields: Record<string, unknown>) {
  return {
    update_id: nextUpdateId(),
    message: {
      message_id: ++messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: from.id, type: 'private', first_name: from.first_name, username: from.username },
      from,
      ...fields,
    },
  }
}

/** A message in a group, optionally replying to one of its messages (Telegram includes the replied-to message). */
export function groupMessage(chatId: string, from: Person, fields: Record<string, unknown>, replyTo?: { message_id: number; text?: string }) {
  return {
    update_id: nextUpdateId(),
    message: {
      message_id: ++messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: Number(chatId), type: 'supergroup', title: 'Флористы' },
      from,
      ...(replyTo
        ? {
            reply_to_message: {
              date: 0,
              chat: { id: Number(chatId), type: 'supergroup', title: 'Флористы' },
              from: { id: 1, is_bot: true, first_name: 'Shop bot' },
              ...replyTo,
            },
          }
        : {}),
      ...fields,
    },
  }
}

/** A photo as Telegram sends it: several sizes, the largest last. */
export const photoSizes = (fileId: string) => [
  { file_id: `${fileId}_s`, file_unique_id: `${fileId}_us`, width: 90, height: 90 },
  { file_id: fileId, file_unique_id: `${fileId}_u`, width: 1280, height: 1280 },
]

/** A button press in the person's private chat, on one of the bot's messages there. */
export function pressIn(from: Person, data: string, onMessageId: number) {
  return {
    update_id: nextUpdateId(),
    callback_query: {
      id: `cb${updateId}`,
      from,
      data,
      chat_instance: 'ci',
      message: { message_id: onMessageId, date: 0, chat: { id: from.id, type: 'private', first_name: from.first_name } },
    },
  }
}

type Button = { text: string; callback_data?: string; url?: string }
export const buttonsOf = (c: Call) => ((c.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat()

/** What the bot sent to one chat (any method that puts a message there), oldest first. */
export const toChat = (h: Harness, token: string, chatId: string | number) =>
  h.fake.calls.filter(
    (c) => c.token === token && ['sendMessage', 'sendPhoto', 'copyMessage'].includes(c.method) && String(c.payload.chat_id) === String(chatId),
  )

export const messageIdOf = (c: Call) => Number((c.result as { message_id: number }).message_id)

/**
 * A shop with a bot and a staff group, and an order (a surprise, with a recipient, a window and items)
 * whose message is in the group. `startCode` is the code of its buyer link.
 */
export async function shopWithOrder(h: Harness, opts: { number?: string; surprise?: boolean; name?: string } = {}) {
  const shopId = await h.shop(opts.name ?? 'Цветочная лавка')
  const token = makeToken('buyer')
  const group = `-100${shopId}${Math.floor(Math.random() * 1e6)}`
  await h.connect(shopId, token, group)
  const number = opts.number ?? `B-${shopId}`
  const body = {
    number,
    total: 4900,
    customerName: 'Марина Соколова',
    customerPhone: '+79990001122',
    recipientName: 'Ольга Секретова',
    recipientPhone: '+79995556677',
    address: 'ул. Тайная, 7',
    deliveryDate: '2026-12-24',
    deliveryTime: '14:00–16:00',
    items: [
      { name: 'Букет «Нежность»', quantity: 1, price: 4500 },
      { name: 'Открытка', quantity: 1, price: 400 },
    ],
    cardText: 'С днём рождения!',
    surprise: opts.surprise ?? true,
  }
  const r = await h.post(`/shops/${shopId}/orders`, body)
  expect(r.status).toBe(201)
  expect(r.json.telegramStatus).toBe('sent')
  const orderId = Number(r.json.order.id)
  const m = one(await h.sql<{ message_id: string }[]>`select message_id from telegram_messages where order_id = ${orderId}`)
  const link = String(r.json.order.buyerLink)
  const startCode = new URL(link).searchParams.get('start')!
  return { shopId, token, group, number, orderId, orderMessageId: Number(m.message_id), link, startCode, body }
}

/** Opens the buyer link as `who` and waits for the greeting. */
export async function subscribe(h: Harness, o: { token: string; startCode: string }, who: Person) {
  await deliver(h, o.token, privateMessage(who, { text: `/start ${o.startCode}` }))
  return eventually(() => toChat(h, o.token, who.id).find((c) => String(c.payload.text).startsWith('Здравствуйте')), { message: 'the greeting' })
}

/** Delivers an update to the shop bot's webhook as Telegram does, and expects it taken. */
export async function deliver(h: Harness, token: string, update: Record<string, unknown>) {
  const res = await h.fake.deliver(token, update)
  expect(res.status).toBe(200)
}
