import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTokenCheckedHarness, eventually, one, type Harness, type TokenCheckedHarness } from '../helpers'
import { answers, assemblingOrder, buttons, COURIER_CHAT, courierShop, nextUpdateId, ORDER, press, privateMessage, STAFF_CHAT, user } from './fixtures'

/**
 * Couriers through the fake Bot API: the delivery card in the couriers' chat (without the buyer's data),
 * the first press wins, the private card (and the way to it for a courier who never opened the bot),
 * the proof of delivery reaching the staff, and staff taking a courier off.
 */
let checked: TokenCheckedHarness
let h: Harness
beforeAll(async () => ({ h } = checked = await createTokenCheckedHarness({ listen: true, dispatcher: true })))
afterAll(() => checked.close())

async function setup(number: string) {
  const s = await courierShop(h)
  checked.tokens.push(s.token)
  const o = await assemblingOrder(h, s.shopId, s.token, number)
  return { ...s, ...o }
}

const events = (orderId: number, type: string) =>
  h.sql<{ data: Record<string, unknown> }[]>`select data from platform_events where order_id = ${orderId} and type = ${type} order by id`
const sentTo = (token: string, chatId: string | number) => h.fake.calls.filter((c) => c.token === token && String(c.payload.chat_id) === String(chatId))

/** A courier who has opened the bot before (their /start recorded their private chat). */
async function courierWithPrivateChat(shopId: number, who: ReturnType<typeof user>) {
  await h.sql`insert into courier_contacts (shop_id, tg_user_id, chat_id, name) values (${shopId}, ${who.id}, ${String(who.id)}, ${who.first_name})`
  return who
}

/** A buyer who opened the order's link (the buyer feature's tables, sql/022). */
async function subscribeBuyer(shopId: number, orderId: number, userId: number) {
  const [pc] = await h.sql`insert into telegram_private_chats (shop_id, chat_id, first_name) values (${shopId}, ${String(userId)}, 'Анна') returning id`
  await h.sql`insert into order_buyers (order_id, shop_id, private_chat_ref, tg_user_id) values (${orderId}, ${shopId}, ${pc!.id}, ${userId})`
  return String(userId)
}

describe('the delivery card in the couriers’ chat', () => {
  test('goes out when the order is assembling: window, address, recipient and «🚚 Беру» — never the buyer’s name, phone or the total', async () => {
    const { token, card, shopId } = await setup('K-1')
    const text = String(card.payload.text)
    expect(text).toContain('08.03.2026, 14:00–16:00')
    expect(text).toContain('ул. Ленина, 5, кв. 12')
    expect(text).toContain('Мария, +7 900 444-55-66')
    expect(text).toContain('Позвонить за час')
    for (const secret of [ORDER.customerName, ORDER.customerPhone, '7 350', '7350', 'Розы', '₽']) expect(text).not.toContain(secret)
    expect(buttons(card).map((b) => b.text)).toEqual(['🚚 Беру'])
    // the couriers' chat never got the order's own message (with the total and the buyer), nor status lines
    const toCouriers = sentTo(token, COURIER_CHAT)
    expect(toCouriers).toHaveLength(1)
    // the staff chat got the order, not the card
    expect(sentTo(token, STAFF_CHAT).some((c) => String(c.payload.text).includes(ORDER.customerName))).toBe(true)
    expect(sentTo(token, STAFF_CHAT).some((c) => String(c.payload.text).startsWith('🚚 <b>Доставка'))).toBe(false)
    const list = await h.get(`/shops/${shopId}/orders`)
    expect(list.json.items[0].courier).toBeNull()
  }, 20_000)

  test('a surprise says so on the card; an edit of the address edits the card', async () => {
    const s = await courierShop(h)
    checked.tokens.push(s.token)
    const { orderId, messageId } = await assemblingOrder(h, s.shopId, s.token, 'K-2', { surprise: true })
    await h.sql.begin(async (tx) => {
      await tx`update orders set address = 'пр. Мира, 1' where id = ${orderId}`
      const { queueCourierCards } = await import('../../src/notifications')
      await queueCourierCards(tx as never, s.shopId, orderId)
    })
    h.services.dispatcher.wake()
    const edit = await eventually(
      () => h.fake.callsOf('editMessageText', s.token).find((c) => c.payload.message_id === messageId && String(c.payload.text).includes('пр. Мира, 1')),
      { message: 'the card edited with the new address' },
    )
    expect(String(edit.payload.text)).toContain('Сюрприз — не звонить получателю')
    expect(buttons(edit).map((b) => b.text)).toEqual(['🚚 Беру'])
  }, 20_000)
})

describe('«🚚 Беру»', () => {
  test('two couriers press at once: exactly one is assigned, the card shows who and loses its button, a later press is told it is taken', async () => {
    const { shopId, token, orderId, card, messageId } = await setup('K-3')
    const data = buttons(card)[0]!.callback_data
    const olga = await courierWithPrivateChat(shopId, user(7001, 'Ольга', 'Курьерова'))
    const ivan = await courierWithPrivateChat(shopId, user(7002, 'Иван', 'Быстров'))
    const [a, b] = await Promise.all([
      h.fake.deliver(token, press(data, messageId, COURIER_CHAT, olga)),
      h.fake.deliver(token, press(data, messageId, COURIER_CHAT, ivan)),
    ])
    expect([a.status, b.status]).toEqual([200, 200])
    const o = one(await h.sql`select courier_name, courier_tg_id from orders where id = ${orderId}`)
    const winner = o.courier_tg_id === '7001' ? olga : ivan
    const loser = winner === olga ? ivan : olga
    expect(o.courier_name).toBe(`${winner.first_name} ${winner.last_name}`)
    const said = answers(h, token)
    expect(said.filter((t) => t.startsWith('Заказ №K-3 ваш'))).toHaveLength(1)
    expect(said.filter((t) => t.startsWith(`Заказ уже взял: ${o.courier_name}`))).toHaveLength(1)
    expect(await events(orderId, 'delivery.assigned')).toHaveLength(1)
    // the winner's private card
    const priv = await eventually(() => sentTo(token, winner.id).find((c) => String(c.payload.text).includes('Ваша доставка №K-3')), {
      message: 'private card',
    })
    expect(sentTo(token, loser.id)).toHaveLength(0)
    expect(buttons(priv).map((x) => x.text)).toEqual([
      '📋 Адрес',
      '📋 Телефон',
      '🗺 Открыть на карте',
      '✅ Доставлено',
      '📵 Не дозвонился',
      '↩️ Вернул в магазин',
    ])
    // the card in the couriers' chat now says who took it, without the button
    const edit = await eventually(() => h.fake.callsOf('editMessageText', token).find((c) => c.payload.message_id === messageId), { message: 'card edited' })
    expect(String(edit.payload.text)).toContain(`Взял: ${o.courier_name}`)
    expect(buttons(edit)).toEqual([])
    // the staff message shows the courier and «Снять курьера»
    const staff = await eventually(
      () => h.fake.callsOf('editMessageText', token).find((c) => String(c.payload.chat_id) === STAFF_CHAT && String(c.payload.text).includes('🚚 Курьер:')),
      { message: 'staff message edited' },
    )
    expect(buttons(staff).map((x) => x.text)).toContain('Снять курьера')
    // a later press by anyone is told it is taken and changes nothing
    await h.fake.deliver(token, press(data, messageId, COURIER_CHAT, user(7003, 'Пётр')))
    expect(answers(h, token).at(-1)).toBe(`Заказ уже взял: ${o.courier_name}`)
    const list = await h.get(`/shops/${shopId}/orders`)
    expect(list.json.items[0].courier).toMatchObject({ name: o.courier_name })
    expect(list.json.items[0].courier.at).toBeString()
  }, 20_000)

  test('a courier who never opened the bot is led there by the press, and gets the card on /start', async () => {
    const { shopId, token, orderId, card, messageId } = await setup('K-4')
    const bot = one(await h.sql`select bot_username from telegram_integrations where shop_id = ${shopId}`).bot_username
    const nina = user(7011, 'Нина')
    await h.fake.deliver(token, press(buttons(card)[0]!.callback_data, messageId, COURIER_CHAT, nina))
    const url = answers(h, token).at(-1)!
    expect(url).toStartWith(`url:https://t.me/${bot}?start=c_${orderId}_`)
    expect(sentTo(token, nina.id)).toHaveLength(0)
    const code = url.split('start=')[1]!
    // somebody else with the same link gets nothing of the order
    await h.fake.deliver(token, privateMessage(user(7012, 'Чужой'), { text: `/start ${code}` }))
    await h.services.updates.settle()
    expect(sentTo(token, 7012).some((c) => String(c.payload.text).includes('ул. Ленина'))).toBe(false)
    await h.fake.deliver(token, privateMessage(nina, { text: `/start ${code}` }))
    const priv = await eventually(() => sentTo(token, nina.id).find((c) => String(c.payload.text).includes('Ваша доставка №K-4')), {
      message: 'card on /start',
    })
    const b = buttons(priv)
    expect(b.find((x) => x.text === '📋 Адрес')?.copy_text).toEqual({ text: ORDER.address })
    expect(b.find((x) => x.text === '📋 Телефон')?.copy_text).toEqual({ text: ORDER.recipientPhone })
    expect(b.find((x) => x.text === '🗺 Открыть на карте')?.url).toContain(encodeURIComponent(ORDER.address))
    expect(String(priv.payload.text)).not.toContain(ORDER.customerName)
    // next time the card comes at once
    expect(one(await h.sql`select chat_id from courier_contacts where shop_id = ${shopId} and tg_user_id = ${nina.id}`).chat_id).toBe(String(nina.id))
  }, 20_000)

  test('the buyer’s messages never reach the couriers’ chat, and a courier’s photo under the card is not a bouquet photo', async () => {
    const { shopId, token, orderId, messageId } = await setup('K-6')
    const buyer = user(await subscribeBuyer(shopId, orderId, 8806).then(Number), 'Анна')
    await h.fake.deliver(token, privateMessage(buyer, { text: 'Можно привезти к 15:00? Мой телефон +7 999 000-00-00' }))
    await eventually(() => sentTo(token, STAFF_CHAT).find((c) => String(c.payload.text).includes('Можно привезти к 15:00')), { message: 'relayed to staff' })
    const id = nextUpdateId()
    await h.fake.deliver(token, {
      update_id: id,
      message: {
        message_id: id,
        date: 0,
        chat: { id: Number(COURIER_CHAT), type: 'supergroup' },
        from: user(7030, 'Курьер'),
        photo: [{ file_id: 'COURIER-SELFIE' }],
        reply_to_message: { message_id: messageId, date: 0, chat: { id: Number(COURIER_CHAT), type: 'supergroup' } },
      },
    })
    await h.services.updates.settle()
    h.services.dispatcher.wake()
    await eventually(
      async () => (await h.sql`select 1 from telegram_outbox where order_id = ${orderId} and state = 'pending' and next_attempt_at <= now()`).length === 0,
      {
        message: 'outbox drained',
      },
    )
    expect(sentTo(token, COURIER_CHAT).filter((c) => c.method === 'sendMessage' || c.method === 'copyMessage' || c.method === 'sendPhoto')).toHaveLength(1)
    expect(await h.sql`select 1 from order_photos where order_id = ${orderId}`).toHaveLength(0)
    expect(h.fake.calls.some((c) => c.payload.photo === 'COURIER-SELFIE')).toBe(false)
  }, 20_000)

  test('a press outside the couriers’ chat or with forged data is refused', async () => {
    const { token, orderId, card, messageId } = await setup('K-5')
    await h.fake.deliver(token, press(buttons(card)[0]!.callback_data, messageId, STAFF_CHAT, user(7021, 'Флорист')))
    await h.fake.deliver(token, press(`k:${orderId}:AAAAAAAAAAAA`, messageId, COURIER_CHAT, user(7022, 'Хакер')))
    expect(answers(h, token).slice(-2)).toEqual(['Эта кнопка работает только в чате курьеров магазина', 'Эта кнопка не относится к заказам этого магазина'])
    expect(one(await h.sql`select courier_tg_id from orders where id = ${orderId}`).courier_tg_id).toBeNull()
  }, 20_000)
})

describe('the delivery ends', () => {
  async function taken(number: string) {
    const s = await setup(number)
    const courier = await courierWithPrivateChat(s.shopId, user(7100 + Number(number.slice(2)), 'Сергей', 'Доставкин'))
    await h.fake.deliver(s.token, press(buttons(s.card)[0]!.callback_data, s.messageId, COURIER_CHAT, courier))
    const priv = await eventually(() => sentTo(s.token, courier.id).find((c) => String(c.payload.text).includes('Ваша доставка')), { message: 'private card' })
    const staffMessageId = Number(
      one(
        await h.sql`select message_id from telegram_messages m join telegram_chats c on c.id = m.chat_ref
      where m.order_id = ${s.orderId} and c.chat_id = ${STAFF_CHAT}`,
      ).message_id,
    )
    const button = (text: string) => buttons(priv).find((b) => b.text === text)!.callback_data
    return { ...s, courier, priv, staffMessageId, button, privId: (priv.result as { message_id: number }).message_id }
  }

  test('«✅ Доставлено» with a photo closes the order; the photo reaches the staff chat as a reply to the order’s message, and the buyer', async () => {
    const t = await taken('K-61')
    const buyer = await subscribeBuyer(t.shopId, t.orderId, 8801)
    await h.fake.deliver(t.token, press(t.button('✅ Доставлено'), t.privId, t.courier.id, t.courier))
    const ask = await eventually(() => sentTo(t.token, t.courier.id).find((c) => String(c.payload.text).startsWith('📷')), { message: 'asked for a photo' })
    expect(buttons(ask).map((b) => b.text)).toEqual(['Без фото'])
    expect(one(await h.sql`select status from orders where id = ${t.orderId}`).status).toBe('assembling')
    await h.fake.deliver(t.token, privateMessage(t.courier, { photo: [{ file_id: 'small-file' }, { file_id: 'PHOTO-FILE-ID' }] }))
    const o = one(await h.sql`select status, delivery_photo, delivered_at from orders where id = ${t.orderId}`)
    expect(o).toMatchObject({ status: 'done', delivery_photo: 'PHOTO-FILE-ID' })
    const proof = await eventually(() => h.fake.callsOf('sendPhoto', t.token).find((c) => String(c.payload.chat_id) === STAFF_CHAT), {
      message: 'the proof in the staff chat',
    })
    expect(proof.payload.photo).toBe('PHOTO-FILE-ID')
    expect(String(proof.payload.caption)).toContain('Заказ №K-61 доставлен')
    expect((proof.payload.reply_parameters as { message_id: number }).message_id).toBe(t.staffMessageId)
    // the private card loses its buttons, the couriers' card says delivered, the staff message says done
    await eventually(
      () => h.fake.callsOf('editMessageText', t.token).find((c) => c.payload.message_id === t.privId && String(c.payload.text).includes('Доставлено')),
      {
        message: 'private card closed',
      },
    )
    await eventually(
      () => h.fake.callsOf('editMessageText', t.token).find((c) => c.payload.message_id === t.messageId && String(c.payload.text).includes('Доставлен')),
      { message: 'couriers’ card closed' },
    )
    const completed = await events(t.orderId, 'delivery.completed')
    expect(completed).toHaveLength(1)
    const photo = one(await h.sql`select id, kind, file_id, by_name from order_photos where order_id = ${t.orderId}`)
    expect(photo).toMatchObject({ kind: 'delivery', file_id: 'PHOTO-FILE-ID', by_name: 'Сергей Доставкин' })
    expect(completed[0]!.data).toMatchObject({ photoId: Number(photo.id) })
    expect((await events(t.orderId, 'order.status_changed')).at(-1)!.data).toMatchObject({ from: 'assembling', to: 'done' })
    const item = (await h.get(`/shops/${t.shopId}/orders`)).json.items[0]
    expect(item).toMatchObject({
      status: 'done',
      deliveryPhoto: { id: Number(photo.id), url: `/shops/${t.shopId}/orders/${t.orderId}/photos/${photo.id}` },
      courier: { name: 'Сергей Доставкин' },
    })
    const toBuyer = await eventually(() => h.fake.callsOf('sendPhoto', t.token).find((c) => String(c.payload.chat_id) === buyer), {
      message: 'the photo to the buyer',
    })
    expect(toBuyer.payload.photo).toBe('PHOTO-FILE-ID')
    expect(String(toBuyer.payload.caption)).toContain('Так мы вручили ваш заказ №K-61')
    expect(String(toBuyer.payload.caption)).not.toContain('Сергей')
    // a second photo changes nothing
    await h.fake.deliver(t.token, privateMessage(t.courier, { photo: [{ file_id: 'ANOTHER' }] }))
    expect(one(await h.sql`select delivery_photo from orders where id = ${t.orderId}`).delivery_photo).toBe('PHOTO-FILE-ID')
  }, 20_000)

  test('«📵 Не дозвонился» and «↩️ Вернул в магазин» tell the staff chats; the order stays on its way', async () => {
    const t = await taken('K-62')
    const buyer = await subscribeBuyer(t.shopId, t.orderId, 8802)
    await h.request('PATCH', `/shops/${t.shopId}/orders/${t.orderId}`, { status: 'delivering' })
    await h.fake.deliver(t.token, press(t.button('📵 Не дозвонился'), t.privId, t.courier.id, t.courier))
    await h.fake.deliver(t.token, press(t.button('↩️ Вернул в магазин'), t.privId, t.courier.id, t.courier))
    const reports = await eventually(
      () => {
        const r = sentTo(t.token, STAFF_CHAT).filter((c) => /курьер (не дозвонился|вернул)/.test(String(c.payload.text)))
        return r.length === 2 ? r : null
      },
      { message: 'two reports in the staff chat' },
    )
    for (const r of reports) expect((r.payload.reply_parameters as { message_id: number }).message_id).toBe(t.staffMessageId)
    expect(one(await h.sql`select status from orders where id = ${t.orderId}`).status).toBe('delivering')
    await eventually(() => sentTo(t.token, buyer).some((c) => String(c.payload.text).includes('не смог дозвониться')), { message: 'the buyer told' })
    expect((await events(t.orderId, 'delivery.failed')).map((e) => e.data.reason)).toEqual(['no_answer', 'returned'])
    // «Без фото» still closes it afterwards
    await h.fake.deliver(t.token, press(t.button('✅ Доставлено'), t.privId, t.courier.id, t.courier))
    const ask = await eventually(() => sentTo(t.token, t.courier.id).find((c) => String(c.payload.text).startsWith('📷')), { message: 'asked for a photo' })
    await h.fake.deliver(t.token, press(buttons(ask)[0]!.callback_data, (ask.result as { message_id: number }).message_id, t.courier.id, t.courier))
    expect(one(await h.sql`select status, delivery_photo from orders where id = ${t.orderId}`)).toMatchObject({ status: 'done', delivery_photo: null })
  }, 20_000)

  test('staff take the courier off with the button in the staff chat: the card goes back to the couriers’ chat; PATCH courier: null does the same', async () => {
    const t = await taken('K-63')
    const staffEdit = await eventually(
      () =>
        h.fake.callsOf('editMessageText', t.token).find((c) => String(c.payload.chat_id) === STAFF_CHAT && buttons(c).some((b) => b.text === 'Снять курьера')),
      { message: 'the staff button' },
    )
    const release = buttons(staffEdit).find((b) => b.text === 'Снять курьера')!.callback_data
    // not from the courier's private chat
    await h.fake.deliver(t.token, press(release, t.privId, 99_999, t.courier))
    expect(one(await h.sql`select courier_tg_id from orders where id = ${t.orderId}`).courier_tg_id).not.toBeNull()
    await h.fake.deliver(t.token, press(release, t.staffMessageId, STAFF_CHAT, user(501, 'Ольга', 'Менеджер')))
    expect(answers(h, t.token).at(-1)).toBe('Курьер снят: заказ снова в чате курьеров')
    expect(one(await h.sql`select courier_name, courier_tg_id from orders where id = ${t.orderId}`)).toEqual({ courier_name: null, courier_tg_id: null })
    // a new card with «Беру» in the couriers' chat, the old one retired, the courier's own card retired
    const again = await eventually(
      () => sentTo(t.token, COURIER_CHAT).filter((c) => c.method === 'sendMessage' && String(c.payload.text).includes('№K-63'))[1],
      {
        message: 'the card offered again',
      },
    )
    expect(buttons(again).map((b) => b.text)).toEqual(['🚚 Беру'])
    await eventually(
      () => h.fake.callsOf('editMessageText', t.token).find((c) => c.payload.message_id === t.messageId && String(c.payload.text).startsWith('↩️')),
      { message: 'the old card retired' },
    )
    await eventually(
      () => h.fake.callsOf('editMessageText', t.token).find((c) => c.payload.message_id === t.privId && String(c.payload.text).includes('снял вас')),
      { message: 'the courier told' },
    )
    // the old private buttons no longer work
    await h.fake.deliver(t.token, press(t.button('✅ Доставлено'), t.privId, t.courier.id, t.courier))
    expect(answers(h, t.token).at(-1)).toBe('Этот заказ сейчас не ваш')
    // someone takes it again; the API takes them off
    const newId = (again.result as { message_id: number }).message_id
    await h.fake.deliver(t.token, press(buttons(again)[0]!.callback_data, newId, COURIER_CHAT, user(7200, 'Вера')))
    expect(one(await h.sql`select courier_name from orders where id = ${t.orderId}`).courier_name).toBe('Вера')
    const r = await h.request('PATCH', `/shops/${t.shopId}/orders/${t.orderId}`, { courier: null })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ changed: true, order: { courier: null } })
    await eventually(() => sentTo(t.token, COURIER_CHAT).filter((c) => c.method === 'sendMessage' && String(c.payload.text).includes('№K-63')).length === 3, {
      message: 'offered a third time',
    })
    const again2 = await h.request('PATCH', `/shops/${t.shopId}/orders/${t.orderId}`, { courier: null })
    expect(again2.json.changed).toBe(false)
    expect((await h.request('PATCH', `/shops/${t.shopId}/orders/${t.orderId}`, {})).status).toBe(422)
  }, 20_000)
})
