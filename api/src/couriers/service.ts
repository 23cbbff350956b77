import { TelegramError, tgUserName, type TelegramClient, type TgUpdate } from '../bot-api'
import { findIntegration, isRecipientChat, safeDecrypt, shopForMessages, type IntegrationRow } from '../connect'
import { deliveryFieldsOf, mapUrl, renderPrivateCard, type DeliveryFields } from '../notifications'
import {
  assignCourier,
  completeDelivery,
  courierStartCode,
  findCourierOrder,
  noPhotoKeyboard,
  parseCourierCallback,
  parseCourierStartCode,
  privateCardKeyboard,
  rememberPrivateCard,
  releaseCourier,
  reportDeliveryFailure,
  type CourierOrderRow,
} from '../orders'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Actor } from '../platform/http/auth'
import type { Logger } from '../platform/log'
import { awaitingPhoto, contactOf, forgetContact, isCourierChat, saveContact, setAwaitingPhoto } from './repository'

type Message = NonNullable<TgUpdate['message']>
type Press = NonNullable<TgUpdate['callback_query']>

const fields = (o: CourierOrderRow): DeliveryFields => deliveryFieldsOf(o)

/**
 * The courier's side of the bot: «🚚 Беру» in a courier chat, the private card with its buttons,
 * the photo of the handover, and staff taking a courier off. The database decides every race (see
 * orders/courier-repository.ts); this class talks to Telegram around those decisions.
 */
export class CourierService {
  constructor(
    private readonly deps: {
      sql: Sql
      client: TelegramClient
      cipher: TokenCipher
      log: Logger
      timeoutMs: number
    },
  ) {}

  private signal() {
    return AbortSignal.timeout(this.deps.timeoutMs)
  }

  private async answer(token: string, q: Press, text: string | { url: string }) {
    await this.deps.client.answerCallbackQuery(token, q.id, text, this.signal()).catch((err) => this.deps.log.warn('callback_answer_failed', { error: err }))
  }

  /** A press of a courier-flow button; false when the data is not the courier flow's (someone else handles it). */
  async handlePress(integration: IntegrationRow, token: string, update: TgUpdate): Promise<boolean> {
    const q = update.callback_query
    if (!q) return false
    const shopId = Number(integration.shop_id)
    const parsed = parseCourierCallback(this.deps.cipher, shopId, q.data)
    if (!parsed) {
      // shaped like ours but not signed for this shop: refuse, do not pass it on
      if (/^(k|r|n|dk|dn|dr):/.test(q.data ?? '')) {
        await this.answer(token, q, 'Эта кнопка не относится к заказам этого магазина')
        return true
      }
      return false
    }
    const { action, orderId } = parsed
    const chatId = String(q.message?.chat?.id ?? '')
    switch (action) {
      case 'take':
        await this.take(integration, token, q, shopId, orderId, chatId)
        return true
      case 'release':
        // only from one of the shop's staff chats (a courier chat has the order's card, not this button)
        if (!q.message || !(await isRecipientChat(this.deps.sql, shopId, chatId))) {
          await this.answer(token, q, 'Эта кнопка не относится к заказам этого магазина')
          return true
        }
        await this.release(shopId, orderId, { kind: 'telegram', id: String(q.from.id), label: tgUserName(q.from) }, { token, press: q })
        return true
      default:
        await this.courierAction(token, q, shopId, orderId, action)
        return true
    }
  }

  private async take(integration: IntegrationRow, token: string, q: Press, shopId: number, orderId: number, chatId: string) {
    const { sql, log } = this.deps
    if (!(await isCourierChat(sql, shopId, chatId))) {
      log.warn('callback_refused', { shopId, reason: 'not_a_courier_chat' })
      await this.answer(token, q, 'Эта кнопка работает только в чате курьеров магазина')
      return
    }
    const name = tgUserName(q.from)
    const r = await assignCourier(sql, shopId, orderId, { name, tgId: q.from.id })
    const order = r.order
    if (!order) return this.answer(token, q, 'Заказ не найден')
    const mine = order.courier_tg_id === String(q.from.id)
    if (!r.assigned && !mine) {
      return this.answer(token, q, order.courier_name ? `Заказ уже взял: ${order.courier_name}` : 'Этот заказ уже не ждёт курьера')
    }
    if (r.assigned) log.info('courier_assigned', { shopId, orderId })
    // the private card goes where the courier already talks to the bot; otherwise the press opens the bot for them
    if (await this.sendPrivateCard(token, shopId, order, q.from.id)) {
      return this.answer(token, q, `Заказ №${order.number} ваш. Карточка доставки — в личном чате с ботом`)
    }
    const url = `https://t.me/${integration.bot_username}?start=${courierStartCode(this.deps.cipher, shopId, orderId, q.from.id)}`
    return this.answer(token, q, { url })
  }

  /** Sends the courier their card if they have a private chat with the bot; false when they have none (or it is gone). */
  private async sendPrivateCard(token: string, shopId: number, order: CourierOrderRow, userId: number): Promise<boolean> {
    const { sql, client, cipher, log } = this.deps
    const chatId = await contactOf(sql, shopId, userId)
    if (!chatId) return false
    const shop = (await shopForMessages(sql, shopId))!
    const f = fields(order)
    try {
      const sent = await client.sendMessage(
        token,
        {
          chatId,
          text: renderPrivateCard(f, shop.name, 'active'),
          keyboard: privateCardKeyboard(cipher, shopId, order.id, {
            address: f.address,
            recipientPhone: f.surprise ? null : f.recipientPhone,
            mapUrl: f.address ? mapUrl(f.address) : null,
          }),
        },
        this.signal(),
      )
      await rememberPrivateCard(sql, Number(order.id), userId, sent.chatId, sent.messageId)
      log.info('courier_card_sent', { shopId, orderId: Number(order.id) })
      return true
    } catch (err) {
      if (err instanceof TelegramError && err.failure.kind === 'terminal') {
        // blocked or never started: lead them to the bot again
        await forgetContact(sql, shopId, userId)
        return false
      }
      throw err
    }
  }

  /** Edits the courier's private card to its final state (no buttons). */
  private async retirePrivateCard(
    token: string,
    shopId: number,
    order: CourierOrderRow,
    at: { chatId: string | null; messageId: string | null },
    state: 'done' | 'released',
  ) {
    if (!at.chatId || !at.messageId) return
    const shop = (await shopForMessages(this.deps.sql, shopId))!
    await this.deps.client
      .editMessageText(token, { chatId: at.chatId, messageId: Number(at.messageId), text: renderPrivateCard(fields(order), shop.name, state) }, this.signal())
      .catch((err) => this.deps.log.warn('courier_card_edit_failed', { shopId, orderId: Number(order.id), error: err }))
  }

  private async courierAction(token: string, q: Press, shopId: number, orderId: number, action: 'ok' | 'na' | 'rt' | 'nophoto') {
    const { sql, client, cipher, log } = this.deps
    const order = await findCourierOrder(sql, shopId, orderId)
    if (!order || order.courier_tg_id !== String(q.from.id)) return this.answer(token, q, 'Этот заказ сейчас не ваш')
    if (order.status !== 'assembling' && order.status !== 'delivering') return this.answer(token, q, 'Заказ уже закрыт')
    const courier = { tgId: q.from.id, name: tgUserName(q.from) }
    if (action === 'ok') {
      const chatId = String(q.message?.chat?.id ?? q.from.id)
      await saveContact(sql, shopId, q.from.id, chatId, courier.name)
      await setAwaitingPhoto(sql, shopId, q.from.id, orderId)
      await this.answer(token, q, 'Пришлите фото вручения')
      await client
        .sendMessage(
          token,
          {
            chatId,
            text: `📷 Пришлите фото вручения заказа №${order.number} одним сообщением — или нажмите «Без фото».`,
            keyboard: noPhotoKeyboard(cipher, shopId, orderId),
          },
          this.signal(),
        )
        .catch((err) => log.warn('bot_reply_failed', { shopId, error: err }))
      return
    }
    if (action === 'nophoto') {
      await this.complete(token, shopId, orderId, courier, null, String(q.message?.chat?.id ?? q.from.id))
      return this.answer(token, q, `Заказ №${order.number} закрыт`)
    }
    const reason = action === 'na' ? 'no_answer' : 'returned'
    const row = await reportDeliveryFailure(sql, shopId, orderId, courier, reason)
    if (!row) return this.answer(token, q, 'Заказ уже закрыт')
    log.info('delivery_failed', { shopId, orderId, reason })
    return this.answer(token, q, 'Магазин предупреждён')
  }

  private async complete(
    token: string,
    shopId: number,
    orderId: number,
    courier: { tgId: number; name: string },
    photo: { fileId: string; fileUniqueId?: string | null } | null,
    chatId: string,
  ) {
    const { sql, client, log } = this.deps
    const row = await completeDelivery(sql, shopId, orderId, courier, photo)
    if (!row) return false
    log.info('delivery_completed', { shopId, orderId, photo: !!photo })
    await this.retirePrivateCard(token, shopId, row, { chatId: row.courier_card_chat_id, messageId: row.courier_card_message_id }, 'done')
    await client
      .sendMessage(token, { chatId, text: `✅ Заказ №${row.number} закрыт${photo ? ', фото передано магазину' : ''}. Спасибо!` }, this.signal())
      .catch((err) => log.warn('bot_reply_failed', { shopId, error: err }))
    return true
  }

  /** Staff take the courier off (a press in a staff chat, or PATCH the order with `courier: null`). */
  async release(shopId: number, orderId: number, actor: Actor, from?: { token: string; press: Press }): Promise<boolean> {
    const { sql, cipher } = this.deps
    const r = await releaseCourier(sql, shopId, orderId, actor)
    if (from) await this.answer(from.token, from.press, r.released ? 'Курьер снят: заказ снова в чате курьеров' : 'У заказа нет курьера')
    if (!r.released) return false
    this.deps.log.info('courier_released', { shopId, orderId })
    const integration = from ? null : await findIntegration(sql, shopId)
    const token = from?.token ?? (integration ? safeDecrypt(cipher, integration.bot_token, shopId) : null)
    if (token) await this.retirePrivateCard(token, shopId, r.order, r.previous, 'released')
    return true
  }

  /**
   * `/start c_<order>_<mac>` in a private chat: the courier the press led here. Their chat is
   * remembered (next time the card comes at once) and they get the card of the order if it is still theirs.
   */
  async handleStart(integration: IntegrationRow, token: string, msg: Message, code: string): Promise<boolean> {
    const { sql, client, cipher, log } = this.deps
    if (msg.chat.type !== 'private' || !msg.from) return false
    const shopId = Number(integration.shop_id)
    const orderId = parseCourierStartCode(cipher, shopId, code, msg.from.id)
    if (!orderId) return false
    await saveContact(sql, shopId, msg.from.id, String(msg.chat.id), tgUserName(msg.from))
    const order = await findCourierOrder(sql, shopId, orderId)
    if (order && order.courier_tg_id === String(msg.from.id) && (order.status === 'assembling' || order.status === 'delivering')) {
      await this.sendPrivateCard(token, shopId, order, msg.from.id)
      return true
    }
    log.info('courier_start_stale', { shopId, orderId })
    await client
      .sendMessage(token, { chatId: String(msg.chat.id), text: 'Этот заказ уже не ваш — карточки новых доставок придут в чат курьеров.' }, this.signal())
      .catch((err) => log.warn('bot_reply_failed', { shopId, error: err }))
    return true
  }

  /** A photo in a private chat from a courier whose «Доставлено» waits for one: the proof of delivery. */
  async handlePhoto(integration: IntegrationRow, token: string, msg: Message): Promise<boolean> {
    if (msg.chat.type !== 'private' || !msg.from || !msg.photo?.length) return false
    const shopId = Number(integration.shop_id)
    const orderId = await awaitingPhoto(this.deps.sql, shopId, msg.from.id)
    if (!orderId) return false
    const largest = msg.photo[msg.photo.length - 1]!
    const photo = { fileId: largest.file_id, fileUniqueId: largest.file_unique_id ?? null }
    const done = await this.complete(token, shopId, orderId, { tgId: msg.from.id, name: tgUserName(msg.from) }, photo, String(msg.chat.id))
    return done
  }
}
