import { tgUserName, type TelegramClient, type TgMessage, type TgUpdate } from '../bot-api'
import { isRecipientChat, type IntegrationRow } from '../connect'
import { recordEvent } from '../events'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import { parseBuyerCode, parsePhotoCallback } from './buyer-link'
import { activeBuyerOrder, awaitChange, buyerOf, queueToBuyer, queueToOrderChats, stopBuyer, subscribeBuyer } from './buyers'
import { findByCopy, recordMessage, sentInLastHour } from './map'
import { addPhoto, answerPhoto, newestAskedPhoto } from './photos'
import { ensurePrivateChat } from './private-chats'
import {
  approvedThanks,
  askChangeText,
  buyerName,
  changeThanks,
  linkTakenText,
  notSubscribedReplyText,
  photoAddedText,
  stalePhotoToast,
  stoppedText,
  tooManyText,
  unknownOrderText,
} from './texts'

/** `/start <code>` (a buyer link) and `/stop`, in a private chat. */
const START_RE = /^\/start\s+([A-Za-z0-9_-]{1,64})\s*$/
const STOP_RE = /^\/stop(?:@[A-Za-z0-9_]+)?\s*$/
/** A person's messages relayed to the staff per hour. */
export const RELAY_PER_HOUR = 20

/**
 * The buyer in the loop, through the shop's bot. In the buyer's private chat: the buyer link
 * subscribes the first person who opens it, `/stop` ends it, anything else they write goes to the
 * staff. In the shop's recipient chats: a photo replying to the order's message goes to the buyer to
 * approve; a reply to a relayed message goes back to the buyer. Identities never cross.
 *
 * What is sent on behalf of the order goes through the outbox (paced, retried; see kinds.ts); the
 * short answers to what a person just did (a refusal, a confirmation) are sent at once.
 */
export class BuyerConversations {
  private readonly background = new Set<Promise<unknown>>()

  constructor(private readonly deps: { sql: Sql; client: TelegramClient; cipher: TokenCipher; log: Logger; timeoutMs: number }) {}

  /** True when the message was the conversation's (the router stops there). */
  async onMessage(integration: IntegrationRow, token: string, msg: TgMessage): Promise<boolean> {
    const shopId = Number(integration.shop_id)
    if (msg.chat.type === 'private' && msg.from && !msg.from.is_bot) {
      const text = msg.text?.trim() ?? ''
      const start = START_RE.exec(text)
      if (start) {
        const orderId = parseBuyerCode(this.deps.cipher, shopId, start[1]!)
        return orderId ? this.subscribe(shopId, token, msg, orderId) : false
      }
      if (STOP_RE.test(text)) return this.stop(shopId, token, msg)
      if (!text.startsWith('/')) {
        const buyer = await activeBuyerOrder(this.deps.sql, shopId, String(msg.chat.id))
        // the owner's private chat is also a recipient: their own replies there are the staff's
        if (buyer && !msg.reply_to_message) return this.fromBuyer(shopId, token, msg, buyer)
        if (buyer && !(await isRecipientChat(this.deps.sql, shopId, String(msg.chat.id)))) return this.fromBuyer(shopId, token, msg, buyer)
      }
    }
    if (msg.reply_to_message) return this.fromStaff(shopId, token, msg)
    return false
  }

  /** A press of «👍 Всё нравится» / «✏️ Хочу изменить»; false when the press is not ours. */
  async press(integration: IntegrationRow, token: string, update: TgUpdate): Promise<boolean> {
    const q = update.callback_query
    const shopId = Number(integration.shop_id)
    const parsed = parsePhotoCallback(this.deps.cipher, shopId, q?.data)
    if (!q || !parsed) return false
    const { sql, log } = this.deps
    // answered before the webhook answers (as the order buttons are): Telegram shows a spinner until then
    const answer = (text: string) =>
      this.deps.client
        .answerCallbackQuery(token, q.id, text, AbortSignal.timeout(this.deps.timeoutMs))
        .catch((err) => log.warn('callback_answer_failed', { shopId, error: err }))
    const [photo] = await sql<{ order_id: string }[]>`select order_id from order_photos where id = ${parsed.photoId} and shop_id = ${shopId}`
    const buyer = photo ? await buyerOf(sql, photo.order_id) : null
    // only the order's buyer, in their own chat, answers for the order
    if (!buyer?.subscribed || String(buyer.tg_user_id) !== String(q.from.id) || String(q.message?.chat.id) !== buyer.chat_id) {
      log.warn('photo_press_refused', { shopId })
      await answer('Эта кнопка не для вас')
      return true
    }
    const newest = await newestAskedPhoto(sql, buyer.order_id)
    if (!newest || Number(newest.id) !== parsed.photoId) {
      await answer(stalePhotoToast)
      return true
    }
    if (!parsed.approve) {
      await awaitChange(sql, buyer.order_id, parsed.photoId)
      await answer('')
      this.say(token, buyer.chat_id, askChangeText)
      return true
    }
    await this.answerAbout(shopId, buyer, parsed.photoId, 'approved', null)
    await answer(approvedThanks)
    return true
  }

  /** Records the buyer's answer about the newest photo and tells every recipient chat under the order's message. */
  private async answerAbout(
    shopId: number,
    buyer: NonNullable<Awaited<ReturnType<typeof buyerOf>>>,
    photoId: number | string,
    approval: 'approved' | 'changes_requested',
    comment: string | null,
  ): Promise<boolean> {
    const { sql, log } = this.deps
    const done = await sql.begin(async (tx) => {
      const photo = await answerPhoto(tx as unknown as Sql, buyer.order_id, photoId, approval, comment)
      if (!photo) return false
      await tx`update order_buyers set awaiting_change_photo = null where order_id = ${buyer.order_id}`
      await recordEvent(tx as unknown as Sql, {
        shopId,
        type: approval === 'approved' ? 'photo.approved' : 'photo.changes_requested',
        orderId: Number(buyer.order_id),
        data: { photoId: Number(photo.id), ...(comment ? { comment } : {}) },
      })
      await queueToOrderChats(tx as unknown as Sql, {
        orderId: buyer.order_id,
        kind: 'photo_answer',
        dueKey: `photo:${photo.id}:${approval}`,
        payload: { firstName: buyerName(buyer.first_name), approval, comment },
      })
      return true
    })
    log.info('photo_answered', { shopId, orderId: buyer.order_id, approval, recorded: done })
    return done
  }

  private async subscribe(shopId: number, token: string, msg: TgMessage, orderId: number): Promise<boolean> {
    const { sql, log } = this.deps
    const chatId = String(msg.chat.id)
    const outcome = await sql.begin(async (tx) => {
      const t = tx as unknown as Sql
      const [order] = await t<{ id: string }[]>`select id from orders where id = ${orderId} and shop_id = ${shopId}`
      if (!order) return 'unknown' as const
      const ref = await ensurePrivateChat(t, shopId, chatId, msg.from?.first_name ?? null)
      const r = await subscribeBuyer(t, { shopId, orderId, privateChatRef: ref, tgUserId: msg.from!.id })
      if (r === 'taken') return r
      if (r !== 'again') await recordEvent(t, { shopId, type: 'buyer.subscribed', orderId, data: { resumed: r === 'resumed' } })
      await queueToBuyer(t, { orderId, kind: 'buyer_update', dueKey: `greeting:${msg.message_id}`, payload: { greeting: true, resumed: r !== 'new' } })
      return r
    })
    log.info('buyer_start', { shopId, orderId, outcome })
    if (outcome === 'taken') this.say(token, chatId, linkTakenText)
    if (outcome === 'unknown') this.say(token, chatId, unknownOrderText)
    return true
  }

  private async stop(shopId: number, token: string, msg: TgMessage): Promise<boolean> {
    const numbers = await stopBuyer(this.deps.sql, shopId, String(msg.chat.id))
    if (!numbers.length) return false
    this.deps.log.info('buyer_stopped', { shopId, orders: numbers.length })
    this.say(token, String(msg.chat.id), stoppedText(numbers.join(', №')))
    return true
  }

  /** The buyer wrote: a change they were asked for, or a message for the staff (at most RELAY_PER_HOUR an hour). */
  private async fromBuyer(shopId: number, token: string, msg: TgMessage, buyer: NonNullable<Awaited<ReturnType<typeof activeBuyerOrder>>>) {
    const { sql, log } = this.deps
    const chatId = String(msg.chat.id)
    const text = msg.text?.trim() ?? null
    await ensurePrivateChat(sql, shopId, chatId, msg.from?.first_name ?? null)
    if (buyer.awaiting_change_photo && text) {
      const ok = await this.answerAbout(shopId, buyer, buyer.awaiting_change_photo, 'changes_requested', Array.from(text).slice(0, 2000).join(''))
      this.say(token, chatId, ok ? changeThanks : stalePhotoToast)
      return true
    }
    if ((await sentInLastHour(sql, buyer.private_chat_ref)) >= RELAY_PER_HOUR) {
      log.info('buyer_relay_limited', { shopId, orderId: buyer.order_id })
      this.say(token, chatId, tooManyText)
      return true
    }
    const photo = msg.photo?.length ? msg.photo[msg.photo.length - 1]! : null
    const caption = msg.caption?.trim() || null
    await sql.begin(async (tx) => {
      const t = tx as unknown as Sql
      const ref = await recordMessage(t, {
        shopId,
        orderId: buyer.order_id,
        party: 'buyer',
        privateChatRef: buyer.private_chat_ref,
        direction: 'in',
        body: text ?? caption,
        photoFileId: photo?.file_id ?? null,
        fromChatId: chatId,
        fromMessageId: msg.message_id,
      })
      if (!ref) return
      await recordEvent(t, {
        shopId,
        type: 'buyer.message',
        orderId: Number(buyer.order_id),
        data: { messageId: Number(ref), text: text ?? caption, photo: !!photo },
      })
      await queueToOrderChats(t, {
        orderId: buyer.order_id,
        kind: 'buyer_relay',
        dueKey: `relay:${ref}`,
        payload: {
          messageRef: ref,
          fromChatId: chatId,
          messageId: msg.message_id,
          text,
          caption,
          captioned: !!photo || msg.caption !== undefined,
          firstName: buyerName(buyer.first_name),
        },
      })
    })
    log.info('buyer_message_relayed', { shopId, orderId: buyer.order_id, photo: !!photo })
    return true
  }

  /** A reply in one of the shop's chats: a photo under the order's message, or an answer to a relayed message. */
  private async fromStaff(shopId: number, token: string, msg: TgMessage): Promise<boolean> {
    const { sql, log } = this.deps
    const chatId = String(msg.chat.id)
    const replyTo = msg.reply_to_message!.message_id
    const [orderMessage] = await sql<{ order_id: string; number: string }[]>`
      select m.order_id, o.number from telegram_messages m join telegram_chats c on c.id = m.chat_ref join orders o on o.id = m.order_id
      where c.shop_id = ${shopId} and m.chat_id = ${chatId} and m.message_id = ${replyTo} and c.role = 'staff'
      limit 1`
    const threadId = msg.is_topic_message && msg.message_thread_id ? msg.message_thread_id : null
    const staff = msg.from ? tgUserName(msg.from) : null
    if (orderMessage && msg.photo?.length) {
      const best = msg.photo[msg.photo.length - 1]!
      const subscribed = await sql.begin(async (tx) => {
        const t = tx as unknown as Sql
        const buyer = await buyerOf(t, orderMessage.order_id)
        const ask = !!buyer?.subscribed
        const photo = await addPhoto(t, {
          shopId,
          orderId: orderMessage.order_id,
          kind: 'bouquet',
          fileId: best.file_id,
          fileUniqueId: best.file_unique_id ?? null,
          byName: staff,
          byTgId: msg.from?.id ?? null,
          ask,
        })
        await recordEvent(t, {
          shopId,
          type: 'photo.added',
          orderId: Number(orderMessage.order_id),
          data: { photoId: Number(photo.id), kind: 'bouquet', sentToBuyer: ask },
        })
        if (ask)
          await queueToBuyer(t, {
            orderId: orderMessage.order_id,
            kind: 'buyer_photo',
            dueKey: `photo:${photo.id}`,
            payload: { photoId: photo.id, fileId: best.file_id },
          })
        return ask
      })
      log.info('order_photo_added', { shopId, orderId: orderMessage.order_id, sentToBuyer: subscribed })
      this.say(token, chatId, photoAddedText(orderMessage.number, subscribed), { threadId, replyToMessageId: msg.message_id })
      return true
    }
    const original = await findByCopy(sql, shopId, chatId, replyTo)
    if (original?.direction !== 'in' || original.party !== 'buyer') return false
    const buyer = await buyerOf(sql, original.order_id)
    if (!buyer?.subscribed) {
      this.say(token, chatId, notSubscribedReplyText, { threadId, replyToMessageId: msg.message_id })
      return true
    }
    await sql.begin(async (tx) => {
      const t = tx as unknown as Sql
      const ref = await recordMessage(t, {
        shopId,
        orderId: original.order_id,
        party: 'buyer',
        privateChatRef: buyer.private_chat_ref,
        direction: 'out',
        author: staff,
        body: msg.text?.trim() ?? msg.caption?.trim() ?? null,
        photoFileId: msg.photo?.length ? msg.photo[msg.photo.length - 1]!.file_id : null,
        fromChatId: chatId,
        fromMessageId: msg.message_id,
      })
      if (!ref) return
      await queueToBuyer(t, {
        orderId: original.order_id,
        kind: 'buyer_reply',
        dueKey: `reply:${ref}`,
        payload: { messageRef: ref, fromChatId: chatId, messageId: msg.message_id },
      })
    })
    log.info('staff_reply_relayed', { shopId, orderId: original.order_id })
    return true
  }

  /** A short answer to what a person just did, sent at once (not an order's message). */
  private say(token: string, chatId: string, text: string, o: { threadId?: number | null; replyToMessageId?: number } = {}) {
    this.call((s) => this.deps.client.sendMessage(token, { chatId, text, threadId: o.threadId ?? null, replyToMessageId: o.replyToMessageId ?? null }, s))
  }

  private call(fn: (signal: AbortSignal) => Promise<unknown>) {
    const p = fn(AbortSignal.timeout(this.deps.timeoutMs)).catch((err) => this.deps.log.warn('conversation_reply_failed', { error: err }))
    this.background.add(p)
    void p.finally(() => this.background.delete(p))
  }

  /** Waits for answers still being sent (tests, graceful stop). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.background])
  }
}
