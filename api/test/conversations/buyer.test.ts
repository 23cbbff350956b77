import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B } from '../fake-telegram'
import { createTokenCheckedHarness, eventually, one, type Harness, type TokenCheckedHarness } from '../helpers'
import {
  buttonsOf,
  copyRecorded,
  deliver,
  groupMessage,
  messageIdOf,
  person,
  photoSizes,
  pressIn,
  privateMessage,
  shopWithOrder,
  subscribe,
  toChat,
} from './fixtures'

/**
 * The buyer in the loop, through the shop's bot, with updates shaped as Telegram sends them: the
 * buyer link, statuses, the bouquet photo and its answer, the conversation both ways, /stop, and a
 * link of another shop.
 */
let checked: TokenCheckedHarness
let h: Harness
beforeAll(async () => ({ h } = checked = await createTokenCheckedHarness({ listen: true, dispatcher: true })))
afterAll(() => checked.close())

const marina = person(7001, 'Марина', 'marina_secret_nick')
const florist = person(8001, 'Ольга', 'olga_florist')

const events = (orderId: number, type: string) => h.sql`select data from platform_events where order_id = ${orderId} and type = ${type} order by id`
const listed = async (shopId: number, orderId: number) => {
  const r = await h.get(`/shops/${shopId}/orders`)
  expect(r.status).toBe(200)
  return r.json.items.find((i: { id: number }) => i.id === orderId)
}
const texts = (token: string, chatId: number | string) => toChat(h, token, chatId).map((c) => String(c.payload.text ?? c.payload.caption ?? ''))

describe('the buyer link', () => {
  test('the order carries buyerLink; the first person to open it is greeted with number, day, window and items, nothing about the surprise recipient', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    expect(o.link).toMatch(new RegExp(`^https://t\\.me/shop\\d+_bot\\?start=b${o.orderId}_[A-Za-z0-9_-]{16}$`))
    const greeting = await subscribe(h, o, marina)
    const text = String(greeting.payload.text)
    expect(text).toContain(`№${o.number}`)
    expect(text).toContain('24.12.2026, 14:00–16:00')
    expect(text).toContain('Букет «Нежность» × 1')
    expect(text).toContain('Открытка × 1')
    for (const secret of ['Ольга', 'Секретова', '+79995556677', 'Тайная', 'С днём рождения']) expect(text).not.toContain(secret)
    const b = one(await h.sql`select tg_user_id, subscribed from order_buyers where order_id = ${o.orderId}`)
    expect(b).toEqual({ tg_user_id: String(marina.id), subscribed: true })
    expect((await events(o.orderId, 'buyer.subscribed')).length).toBe(1)
    const item = await listed(o.shopId, o.orderId)
    expect(item.buyerLink).toBe(o.link)
    expect(item.buyer).toEqual({ subscribed: true, firstName: 'Марина' })
    const read = await h.get(`/shops/${o.shopId}/orders/${o.orderId}`)
    expect(read.status).toBe(200)
    expect(read.json).toMatchObject({ buyerLink: o.link, buyer: { subscribed: true, firstName: 'Марина' }, photos: [], conversation: [] })
    expect((await h.get(`/shops/${o.shopId}/orders?number=${o.number}`)).json.items[0].buyerLink).toBe(o.link)
    // the POS repeating the order gets the same link (200)
    const again = await h.post(`/shops/${o.shopId}/orders`, o.body)
    expect(again.status).toBe(200)
    expect(again.json.order.buyerLink).toBe(o.link)
  })

  test('a forwarded link opened by someone else subscribes nobody: they get a polite line and the buyer stays', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    await subscribe(h, o, marina)
    const friend = person(7002, 'Пётр')
    await deliver(h, o.token, privateMessage(friend, { text: `/start ${o.startCode}` }))
    const line = await eventually(() => texts(o.token, friend.id)[0], { message: 'the polite line' })
    expect(line).toContain('уже открыта другим человеком')
    expect(line).not.toContain(o.number)
    const rows = await h.sql`select tg_user_id from order_buyers where order_id = ${o.orderId}`
    expect(rows.map((r) => r.tg_user_id)).toEqual([String(marina.id)])
    // the database itself refuses a change of person
    await expect(h.sql`update order_buyers set tg_user_id = ${friend.id} where order_id = ${o.orderId}`).rejects.toThrow()
  })

  test('another shop’s buyer code does nothing in this shop’s bot', async () => {
    const a = await shopWithOrder(h, { name: 'Магазин А' })
    const b = await shopWithOrder(h, { name: 'Магазин Б' })
    checked.tokens.push(a.token, b.token)
    const stranger = person(7003, 'Ира')
    await deliver(h, b.token, privateMessage(stranger, { text: `/start ${a.startCode}` }))
    await h.services.updates.settle()
    expect((await h.sql`select 1 from order_buyers where order_id in (${a.orderId}, ${b.orderId})`).length).toBe(0)
    for (const t of texts(b.token, stranger.id)) expect(t).not.toContain(a.number)
    expect(texts(a.token, stranger.id)).toEqual([])
  })
})

describe('statuses', () => {
  test('each status change reaches the buyer once, warmly, never with a staff name', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    await subscribe(h, o, marina)
    for (const status of ['accepted', 'assembling', 'delivering', 'done'])
      expect((await h.request('PATCH', `/shops/${o.shopId}/orders/${o.orderId}`, { status, by: 'Ольга Петрова' })).status).toBe(200)
    await eventually(() => texts(o.token, marina.id).length === 5, { message: 'greeting + four statuses' })
    const [, accepted, assembling, delivering, done] = texts(o.token, marina.id)
    expect(accepted).toBe(`✅ Заказ №${o.number} принят. Скоро начнём собирать букет.`)
    expect(assembling).toContain('Собираем ваш букет')
    expect(delivering).toContain('в пути')
    expect(done).toContain('доставлен')
    for (const t of texts(o.token, marina.id)) {
      expect(t).not.toContain('Ольга')
      expect(t).not.toContain(o.group)
    }
  })
})

describe('the bouquet photo', () => {
  test('a staff photo replying to the order’s message is kept on the order, confirmed in the group, and reaches the buyer with two buttons', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    await subscribe(h, o, marina)
    h.fake.addFile('BOUQUET_1', new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]))
    await deliver(h, o.token, groupMessage(o.group, florist, { photo: photoSizes('BOUQUET_1') }, { message_id: o.orderMessageId }))
    const photo = one(await h.sql`select id, file_id, by_name, by_tg_id, approval from order_photos where order_id = ${o.orderId}`)
    expect(photo).toMatchObject({ file_id: 'BOUQUET_1', by_name: 'Ольга', by_tg_id: String(florist.id), approval: 'pending' })
    const confirmation = await eventually(() => toChat(h, o.token, o.group).find((c) => String(c.payload.text).startsWith('📷')), { message: 'confirmation' })
    expect(String(confirmation.payload.text)).toBe(`📷 Фото добавлено к заказу №${o.number} и отправлено покупателю`)
    const sent = await eventually(() => h.fake.callsOf('sendPhoto', o.token).find((c) => String(c.payload.chat_id) === String(marina.id)), {
      message: 'photo to buyer',
    })
    expect(sent.payload.photo).toBe('BOUQUET_1')
    expect(buttonsOf(sent).map((b) => b.text)).toEqual(['👍 Всё нравится', '✏️ Хочу изменить'])
    expect(String(sent.payload.caption)).not.toContain('Ольга')
    expect((await events(o.orderId, 'photo.added')).length).toBe(1)
    const item = await listed(o.shopId, o.orderId)
    expect(item.photos).toEqual([
      expect.objectContaining({ id: Number(photo.id), approval: 'pending', by: 'Ольга', url: `/shops/${o.shopId}/orders/${o.orderId}/photos/${photo.id}` }),
    ])
    // the image itself, through getFile, then from the cache
    const img = await fetch(`${h.base}${item.photos[0].url}`)
    expect(img.status).toBe(200)
    expect(img.headers.get('content-type')).toBe('image/jpeg')
    expect([...new Uint8Array(await img.arrayBuffer())]).toEqual([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
    await fetch(`${h.base}${item.photos[0].url}`)
    expect(h.fake.callsOf('getFile', o.token).length).toBe(1)
    expect((await h.get(`/shops/${o.shopId}/orders/${o.orderId}/photos/999999`)).status).toBe(404)
  })

  test('without a subscribed buyer the photo is still kept, and the group is told «покупатель не подписан»', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    await deliver(h, o.token, groupMessage(o.group, florist, { photo: photoSizes('LONELY') }, { message_id: o.orderMessageId }))
    const line = await eventually(() => texts(o.token, o.group).find((t) => t.startsWith('📷')), { message: 'confirmation' })
    expect(line).toContain('покупатель не подписан')
    expect(one(await h.sql`select approval from order_photos where order_id = ${o.orderId}`).approval).toBeNull()
    expect(h.fake.callsOf('sendPhoto', o.token)).toEqual([])
  })

  test('«Всё нравится» and a change request reach the group as replies to the order’s message; only the newest photo counts, only the buyer may answer', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    await subscribe(h, o, marina)
    const photoTo = async (fileId: string) => {
      await deliver(h, o.token, groupMessage(o.group, florist, { photo: photoSizes(fileId) }, { message_id: o.orderMessageId }))
      return eventually(() => h.fake.callsOf('sendPhoto', o.token).find((c) => c.payload.photo === fileId), { message: `photo ${fileId} to buyer` })
    }
    const first = await photoTo('P1')
    // someone else pressing in their own chat: refused, nothing recorded
    const intruder = person(7009, 'Чужой')
    await deliver(h, o.token, pressIn(intruder, buttonsOf(first)[0]!.callback_data!, messageIdOf(first)))
    expect(one(await h.sql`select approval from order_photos where file_id = 'P1'`).approval).toBe('pending')

    await deliver(h, o.token, pressIn(marina, buttonsOf(first)[0]!.callback_data!, messageIdOf(first)))
    expect(one(await h.sql`select approval from order_photos where file_id = 'P1'`).approval).toBe('approved')
    const approved = await eventually(() => toChat(h, o.token, o.group).find((c) => String(c.payload.text).startsWith('👍')), { message: 'approval in group' })
    expect(String(approved.payload.text)).toBe(`👍 Марина: фото букета по заказу №${o.number} — всё нравится`)
    expect(approved.payload.reply_parameters).toMatchObject({ message_id: o.orderMessageId })
    expect((await events(o.orderId, 'photo.approved')).length).toBe(1)

    const second = await photoTo('P2')
    // the old photo's button is stale now
    await deliver(h, o.token, pressIn(marina, buttonsOf(first)[1]!.callback_data!, messageIdOf(first)))
    expect(h.fake.callsOf('answerCallbackQuery', o.token).map((c) => c.payload.text)).toContain('Это фото уже не актуально — есть новее')
    await deliver(h, o.token, pressIn(marina, buttonsOf(second)[1]!.callback_data!, messageIdOf(second)))
    await eventually(() => texts(o.token, marina.id).includes('Напишите, что изменить, — передадим флористу.'), { message: 'asked what to change' })
    await deliver(h, o.token, privateMessage(marina, { text: 'Можно без лилий, пожалуйста' }))
    const p2 = one(await h.sql`select approval, comment from order_photos where file_id = 'P2'`)
    expect(p2).toEqual({ approval: 'changes_requested', comment: 'Можно без лилий, пожалуйста' })
    const change = await eventually(() => toChat(h, o.token, o.group).find((c) => String(c.payload.text).startsWith('✏️')), { message: 'change in group' })
    expect(String(change.payload.text)).toBe(`✏️ Марина просит изменить букет по заказу №${o.number}:\n«Можно без лилий, пожалуйста»`)
    expect(change.payload.reply_parameters).toMatchObject({ message_id: o.orderMessageId })
    expect((await events(o.orderId, 'photo.changes_requested'))[0]!.data).toMatchObject({ comment: 'Можно без лилий, пожалуйста' })
    // the comment was the answer, not a message for the relay
    expect(texts(o.token, o.group).some((t) => t.startsWith('💬'))).toBe(false)
    const item = await listed(o.shopId, o.orderId)
    expect(item.photos.map((p: { approval: string }) => p.approval)).toEqual(['approved', 'changes_requested'])
  })
})

describe('the conversation', () => {
  test('the buyer’s text and photo reach the group under the order’s message; a staff reply goes back as the shop; identities never cross', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    await subscribe(h, o, marina)
    await deliver(h, o.token, privateMessage(marina, { text: 'Можно доставить после 15:00?' }))
    const relayed = await eventually(() => toChat(h, o.token, o.group).find((c) => String(c.payload.text).startsWith('💬')), { message: 'relay' })
    expect(String(relayed.payload.text)).toBe('💬 Марина: Можно доставить после 15:00?')
    expect(relayed.payload.reply_parameters).toMatchObject({ message_id: o.orderMessageId })
    const photoMsg = privateMessage(marina, { photo: photoSizes('BUYER_PIC'), caption: 'Вот такой цвет' })
    await deliver(h, o.token, photoMsg)
    const copy = await eventually(() => h.fake.callsOf('copyMessage', o.token).find((c) => String(c.payload.chat_id) === o.group), { message: 'media copy' })
    expect(copy.payload).toMatchObject({ from_chat_id: String(marina.id), message_id: photoMsg.message.message_id, caption: '💬 Марина: Вот такой цвет' })
    for (const c of toChat(h, o.token, o.group)) {
      const all = JSON.stringify(c.payload.text ?? c.payload.caption ?? '')
      expect(all).not.toContain('marina_secret_nick')
      expect(all).not.toContain(String(marina.id))
    }
    expect((await events(o.orderId, 'buyer.message')).length).toBe(2)

    // a florist replies to the relayed message: it goes to the buyer as a copy (no author)
    await copyRecorded(h, o.group, messageIdOf(relayed))
    const reply = groupMessage(
      o.group,
      florist,
      { text: 'Да, конечно, привезём к 15:30' },
      { message_id: messageIdOf(relayed), text: String(relayed.payload.text) },
    )
    await deliver(h, o.token, reply)
    const back = await eventually(() => h.fake.callsOf('copyMessage', o.token).find((c) => String(c.payload.chat_id) === String(marina.id)), {
      message: 'reply to buyer',
    })
    expect(back.payload).toMatchObject({ from_chat_id: o.group, message_id: reply.message.message_id })
    expect(JSON.stringify(back.payload)).not.toContain('Ольга')
    const item = await listed(o.shopId, o.orderId)
    expect(
      item.conversation.map((m: { direction: string; from: string; text: string | null; photo: boolean }) => [m.direction, m.from, m.text, m.photo]),
    ).toEqual([
      ['in', 'Марина', 'Можно доставить после 15:00?', false],
      ['in', 'Марина', 'Вот такой цвет', true],
      ['out', 'Ольга', 'Да, конечно, привезём к 15:30', false],
    ])
  })

  test('a sticker (no caption possible) is copied bare under the order’s message', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    const buyer = person(7012, 'Соня')
    await subscribe(h, o, buyer)
    const sticker = privateMessage(buyer, { sticker: { file_id: 'STICKER_1', file_unique_id: 'us1', type: 'regular', width: 512, height: 512 } })
    await deliver(h, o.token, sticker)
    const copy = await eventually(() => h.fake.callsOf('copyMessage', o.token).find((c) => String(c.payload.chat_id) === o.group), { message: 'sticker copy' })
    expect(copy.payload).toMatchObject({
      from_chat_id: String(buyer.id),
      message_id: sticker.message.message_id,
      reply_parameters: { message_id: o.orderMessageId },
    })
    expect(copy.payload.caption).toBeUndefined()
  })

  test('at most 20 messages an hour are relayed; the 21st gets a polite line', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    const talker = person(7011, 'Аня')
    await subscribe(h, o, talker)
    for (let i = 1; i <= 21; i++) await deliver(h, o.token, privateMessage(talker, { text: `вопрос ${i}` }))
    await eventually(() => texts(o.token, talker.id).some((t) => t.includes('много сообщений')), { message: 'the polite line' })
    expect(one(await h.sql`select count(*)::int as n from conversation_messages where order_id = ${o.orderId}`).n).toBe(20)
    await eventually(async () => texts(o.token, o.group).filter((t) => t.startsWith('💬')).length === 20, { message: '20 relayed', timeoutMs: 10_000 })
    expect(texts(o.token, o.group).some((t) => t.includes('вопрос 21'))).toBe(false)
  })
})

describe('a buyer who blocked the bot', () => {
  test('the next message fails for good and the order shows the buyer as not following it', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    const buyer = person(7031, 'Кира')
    await subscribe(h, o, buyer)
    h.fake.behaveChat(o.token, String(buyer.id), B.blocked)
    await h.request('PATCH', `/shops/${o.shopId}/orders/${o.orderId}`, { status: 'accepted' })
    await eventually(async () => !one(await h.sql`select subscribed from order_buyers where order_id = ${o.orderId}`).subscribed, { message: 'unsubscribed' })
    const chat = one(await h.sql`select last_error_code from telegram_private_chats where chat_id = ${String(buyer.id)} and shop_id = ${o.shopId}`)
    expect(chat.last_error_code).toBe('bot_blocked')
    expect((await listed(o.shopId, o.orderId)).buyer).toEqual({ subscribed: false, firstName: 'Кира' })
  })
})

describe('/stop', () => {
  test('/stop silences the buyer; /start with the link resumes', async () => {
    const o = await shopWithOrder(h)
    checked.tokens.push(o.token)
    const buyer = person(7021, 'Лена')
    await subscribe(h, o, buyer)
    await deliver(h, o.token, privateMessage(buyer, { text: '/stop' }))
    expect(one(await h.sql`select subscribed from order_buyers where order_id = ${o.orderId}`).subscribed).toBe(false)
    await eventually(() => texts(o.token, buyer.id).some((t) => t.startsWith('Хорошо, больше не пишем')), { message: 'stop confirmed' })
    await h.request('PATCH', `/shops/${o.shopId}/orders/${o.orderId}`, { status: 'accepted' })
    await deliver(h, o.token, groupMessage(o.group, florist, { photo: photoSizes('AFTER_STOP') }, { message_id: o.orderMessageId }))
    await eventually(() => texts(o.token, o.group).some((t) => t.includes('покупатель не подписан')), { message: 'photo not sent' })
    // the status edit of the group message has gone out; nothing went to the buyer
    await eventually(
      async () => !(await h.sql`select 1 from telegram_outbox where order_id = ${o.orderId} and state = 'pending' and kind <> 'delivery_reminder'`).length,
      { message: 'outbox drained' },
    )
    const count = texts(o.token, buyer.id).length
    expect(texts(o.token, buyer.id).some((t) => t.includes('принят'))).toBe(false)
    expect(h.fake.callsOf('sendPhoto', o.token)).toEqual([])

    await deliver(h, o.token, privateMessage(buyer, { text: `/start ${o.startCode}` }))
    await eventually(
      () =>
        texts(o.token, buyer.id)
          .slice(count)
          .some((t) => t.startsWith('Снова с вами')),
      { message: 'resumed' },
    )
    await h.request('PATCH', `/shops/${o.shopId}/orders/${o.orderId}`, { status: 'assembling' })
    await eventually(() => texts(o.token, buyer.id).some((t) => t.includes('Собираем ваш букет')), { message: 'status after resume' })
  })
})
