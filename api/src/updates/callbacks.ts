import type { Logger } from '../platform/log'
import type { OrderService } from '../orders'
import { isOrderMessage } from '../orders'
import type { Sql } from '../platform/db/client'
import { parseAcceptCallback } from '../orders'
import { moscowTime } from '../notifications'
import { tgUserName, type TelegramClient, type TgUpdate } from '../bot-api'
import type { CallbackHandler } from './router'
import { isRecipientChat, type IntegrationRow } from '../connect'
import type { TokenCipher } from '../platform/crypto'

/**
 * A button press in an order message. The press must carry our signed data for this shop's order
 * and come from a message we sent for it or from one of the shop's recipient chats; then the first press accepts the order and every
 * press gets a toast (Telegram shows a spinner on the button until it is answered).
 */
export function createCallbackHandler(deps: {
  sql: Sql
  client: TelegramClient
  cipher: TokenCipher
  orders: OrderService
  log: Logger
  timeoutMs: number
}): CallbackHandler {
  const { sql, client, cipher, orders, log, timeoutMs } = deps
  const answer = (token: string, id: string, text: string) =>
    client.answerCallbackQuery(token, id, text, AbortSignal.timeout(timeoutMs)).catch((err) => log.warn('callback_answer_failed', { error: err }))

  return async (integration: IntegrationRow, token: string, update: TgUpdate) => {
    const q = update.callback_query!
    const shopId = Number(integration.shop_id)
    const orderId = parseAcceptCallback(cipher, shopId, q.data)
    // «Принять» may be pressed on the order's message in any recipient chat, or on the card `/order`
    // sent into one; the first press wins for all. A press from anywhere else is refused.
    const chatId = String(q.message?.chat?.id)
    const fromOurMessage =
      !!orderId && !!q.message && ((await isOrderMessage(sql, orderId, chatId, Number(q.message.message_id))) || (await isRecipientChat(sql, shopId, chatId)))
    if (!orderId || !fromOurMessage) {
      log.warn('callback_refused', { shopId, reason: orderId ? 'not_our_message' : 'bad_data' })
      await answer(token, q.id, 'Эта кнопка не относится к заказам этого магазина')
      return
    }
    const name = tgUserName(q.from)
    const r = await orders.acceptFromTelegram(shopId, orderId, { name, tgId: q.from.id })
    if (r.accepted) {
      await answer(token, q.id, `Вы приняли заказ №${r.order.number}`)
    } else if (r.order?.status === 'accepted' && r.order.acceptedBy) {
      const who = r.order.acceptedBy === name ? 'вами' : r.order.acceptedBy
      await answer(token, q.id, `Заказ уже принят: ${who}${r.order.acceptedAt ? ', ' + moscowTime(r.order.acceptedAt) : ''}`)
    } else {
      await answer(token, q.id, r.order ? 'Заказ уже в работе' : 'Заказ не найден')
    }
  }
}
