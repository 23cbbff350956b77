import { expect } from 'bun:test'
import type { Call } from '../fake-telegram'
import { createTokenCheckedHarness, one, type Harness } from '../helpers'

/**
 * Set-up for orders and their Telegram message: an intake harness whose tests each use their own shop
 * and bot (so behaviours do not mix), an order whose message is in a chat, and the button presses on
 * it as Telegram sends them.
 */

/** An order body for `POST /shops/:id/orders`: the minimum, plus `extra` fields. */
export const order = (number: string, extra: Record<string, unknown> = {}) => ({ number, total: 2490, customerName: 'Анна', ...extra })

export type IntakeHarness = Awaited<ReturnType<typeof createIntakeHarness>>

/**
 * Order intake with the real grammY client talking to the fake Bot API: `connectedShop()` is a new
 * shop with a new bot bound to a chat; `close()` checks no bot token leaked (`createTokenCheckedHarness`).
 */
export async function createIntakeHarness() {
  const checked = await createTokenCheckedHarness()
  const { h } = checked
  return {
    ...checked,
    async connectedShop(chatId = '555000111') {
      const shopId = await h.shop()
      const token = checked.newToken()
      await h.connect(shopId, token, chatId)
      return { shopId, token }
    },
    /** The order's rows in the send log (its one notification). */
    logRows: (orderId: number) => h.sql<{ status: string; error: string | null; attempts: number; sent_at: Date | null; message: string }[]>`
      select status, error, attempts, sent_at, message from telegram_send_log where order_id = ${orderId}`,
  }
}

type Button = { text: string; callback_data?: string; url?: string }
/** The inline buttons of a sent or edited message, in order. */
export const buttons = (c: Call) => ((c.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat()

/**
 * A shop («Флора») whose bot `token` is bound to `chatId`, and an order whose message went out: that
 * message's call, and its id and chat from the send log.
 */
export async function orderWithMessage(h: Harness, token: string, opts: { chatId?: string } = {}) {
  const shopId = await h.shop('Флора')
  await h.connect(shopId, token, opts.chatId ?? '6060')
  const r = await h.post(`/shops/${shopId}/orders`, { number: `ACT-${shopId}`, total: 3500, customerName: 'Ирина' })
  expect(r.json.telegramStatus).toBe('sent')
  const sent = h.fake.sent(token).at(-1)!
  const log = one(await h.sql`select message_id, chat_id from telegram_send_log where order_id = ${r.json.order.id}`)
  return { shopId, token, orderId: r.json.order.id as number, sent, messageId: Number(log.message_id), chatId: Number(log.chat_id) }
}

let updateId = 90_000

/** A press on a button of the message `messageId` in `chatId`, by Ольга Петрова unless `from` says otherwise. */
export const press = (data: string | undefined, messageId: number, chatId: number, from = { id: 501, first_name: 'Ольга', last_name: 'Петрова' }) => ({
  update_id: ++updateId,
  callback_query: {
    id: `cb${updateId}`,
    from: { is_bot: false, ...from },
    data,
    chat_instance: 'x',
    message: { message_id: messageId, date: 0, chat: { id: chatId, type: 'private' } },
  },
})

/** The toasts the bot answered presses with, oldest first. */
export const answers = (h: Harness, token: string) => h.fake.callsOf('answerCallbackQuery', token).map((c) => String(c.payload.text))

/** The bot's message edits, oldest first. */
export const edits = (h: Harness, token: string) => h.fake.callsOf('editMessageText', token)
