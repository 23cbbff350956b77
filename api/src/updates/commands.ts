import type { Keyboard, TelegramClient, TgUpdate } from '../bot-api'
import { isRecipientChat, shopForMessages, type IntegrationRow } from '../connect'
import { deliveriesOn, escapeHtml, localDay, renderOrderLine, renderOrderMessage, renderSummary } from '../notifications'
import { findOrder, findOrderByNumber, latestOrders, orderKeyboard, toOrder } from '../orders'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'

/** `/today`, `/orders`, `/order 1234`, each optionally addressed as `/today@shop_bot` in a group. */
const COMMAND_RE = /^\/(today|orders|order)(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$/s
/** The list's buttons: `o:<page>` turns the page, `v:<orderId>` shows one order. */
const PAGE_RE = /^o:(\d{1,4})$/
const VIEW_RE = /^v:([1-9][0-9]{0,18})$/
export const ORDERS_PER_PAGE = 5
const MAX_PAGE = 1000

export type Reply = { chatId: string; threadId: number | null; text: string; keyboard?: Keyboard }

/**
 * The florist's questions to the bot. They are answered only in the shop's recipient chats (where the
 * orders already go): a stranger who finds the bot gets nothing, not even a refusal. The answers are
 * read from the database at the moment of the question, so they show the current state.
 */
export class BotCommands {
  constructor(
    private readonly deps: { sql: Sql; client: TelegramClient; cipher: TokenCipher; log: Logger; timeoutMs: number; publicUrl: string | undefined },
  ) {}

  /** The reply to a command message, or null when the text is not our command or the chat is not the shop's. */
  async answer(integration: IntegrationRow, msg: NonNullable<TgUpdate['message']>): Promise<Reply | null> {
    const m = COMMAND_RE.exec(msg.text?.trim() ?? '')
    if (!m) return null
    if (m[2] && m[2].toLowerCase() !== integration.bot_username.toLowerCase()) return null
    const chatId = String(msg.chat.id)
    const shopId = Number(integration.shop_id)
    if (!(await isRecipientChat(this.deps.sql, shopId, chatId))) {
      this.deps.log.info('command_ignored', { shopId, reason: 'not_a_recipient_chat' })
      return null
    }
    const threadId = msg.is_topic_message && msg.message_thread_id ? msg.message_thread_id : null
    const shop = (await shopForMessages(this.deps.sql, shopId))!
    const arg = (m[3] ?? '').trim()
    switch (m[1]) {
      case 'today': {
        const day = localDay(new Date(), shop.timeZone)
        return { chatId, threadId, text: renderSummary(shop.name, day, await deliveriesOn(this.deps.sql, shopId, day)) }
      }
      case 'orders':
        return { chatId, threadId, ...(await this.page(shopId, shop, 0)) }
      default: {
        if (!arg) return { chatId, threadId, text: 'Напишите номер заказа: <code>/order 1234</code>' }
        const number = Array.from(arg.replace(/^№/, '').trim()).slice(0, 64).join('')
        const row = await findOrderByNumber(this.deps.sql, shopId, number)
        if (!row) return { chatId, threadId, text: `Заказ №${escapeHtml(number)} не найден. Последние заказы: /orders` }
        return { chatId, threadId, ...this.card(row, shop, chatId) }
      }
    }
  }

  /** A press on a list button: the edit of the list (`o:`) or the order card to send (`v:`); null when not ours. */
  async press(integration: IntegrationRow, q: NonNullable<TgUpdate['callback_query']>): Promise<{ edit?: Reply & { messageId: number }; send?: Reply } | null> {
    const data = q.data ?? ''
    const page = PAGE_RE.exec(data)
    const view = VIEW_RE.exec(data)
    if ((!page && !view) || !q.message) return null
    const shopId = Number(integration.shop_id)
    const chatId = String(q.message.chat.id)
    if (!(await isRecipientChat(this.deps.sql, shopId, chatId))) return null
    const threadId = q.message.is_topic_message && q.message.message_thread_id ? q.message.message_thread_id : null
    const shop = (await shopForMessages(this.deps.sql, shopId))!
    if (page) {
      const n = Math.min(Number(page[1]), MAX_PAGE)
      return { edit: { chatId, threadId, messageId: q.message.message_id, ...(await this.page(shopId, shop, n)) } }
    }
    const row = await findOrder(this.deps.sql, shopId, Number(view![1]))
    if (!row) return null
    return { send: { chatId, threadId, ...this.card(row, shop, chatId) } }
  }

  /** `/orders`: five orders a page, a button per order and «‹ Новее» / «Старее ›». */
  private async page(shopId: number, shop: { name: string; timeZone: string }, page: number): Promise<{ text: string; keyboard?: Keyboard }> {
    const rows = await latestOrders(this.deps.sql, shopId, ORDERS_PER_PAGE + 1, page * ORDERS_PER_PAGE)
    const shown = rows.slice(0, ORDERS_PER_PAGE).map(toOrder)
    if (!shown.length) return { text: page === 0 ? 'Заказов пока нет.' : 'Здесь заказов больше нет. Первая страница: /orders' }
    const head = `📋 <b>Заказы</b> · ${escapeHtml(shop.name)}${page ? ` · страница ${page + 1}` : ''}`
    const text = [head, '', ...shown.map((o) => renderOrderLine(o, shop.timeZone))].join('\n')
    const keyboard: Keyboard = [shown.map((o) => ({ text: `№${Array.from(o.number).slice(0, 12).join('')}`, callbackData: `v:${o.id}` }))]
    const nav: Keyboard[number] = []
    if (page > 0) nav.push({ text: '‹ Новее', callbackData: `o:${page - 1}` })
    if (rows.length > ORDERS_PER_PAGE && page < MAX_PAGE) nav.push({ text: 'Старее ›', callbackData: `o:${page + 1}` })
    if (nav.length) keyboard.push(nav)
    return { text, keyboard }
  }

  /** One order as its notification shows it now, with the same buttons («Принять» while new, «Открыть»). */
  private card(row: Parameters<typeof toOrder>[0], shop: { name: string; timeZone: string }, chatId: string): { text: string; keyboard?: Keyboard } {
    const o = toOrder(row)
    const keyboard = orderKeyboard(this.deps.cipher, this.deps.publicUrl)({ shop_id: row.shop_id, order_id: row.id, status: row.status, chat_id: chatId })
    return { text: renderOrderMessage(o, shop.name, shop.timeZone), keyboard }
  }
}
