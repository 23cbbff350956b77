import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { findIntegration } from '../../src/connect'
import { makeToken, type Call } from '../fake-telegram'
import { createHarness, eventually, one, type Harness } from '../helpers'
import { telegramInitData } from '../mini-app'

/**
 * The bot's side of the Mini App: the menu button «Заказы» in a private chat, «Открыть» as a web_app
 * button in private chats (a URL in groups), and the owner's «Разрешить» for someone who asked.
 */
const PUBLIC_URL = 'https://notify.example.com'
const OWNER = { id: 6_600_001, first_name: 'Ольга', username: 'olga' }
const FLORIST = { id: 6_600_777, first_name: 'Ира', last_name: 'Смирнова', username: 'ira_flowers' }
let h: Harness
let shopId: number
const token = makeToken()
let updateId = 640_000

type Button = { text: string; callback_data?: string; url?: string; web_app?: { url: string } }
const buttons = (c: Call) => ((c.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat()

/** An update as Telegram sends it, handled by the service's own router (the webhook would do the same). */
async function update(u: Record<string, unknown>) {
  const integration = (await findIntegration(h.sql, shopId))!
  await h.services.updates.handle(integration, { update_id: ++updateId, ...u } as never)
  await h.services.updates.settle()
}
const start = async (chat: Record<string, unknown>, code: string) =>
  update({ message: { message_id: 1, date: 0, chat, from: { id: Number(chat.id), is_bot: false, first_name: 'x' }, text: `/start ${code}` } })
const press = (data: string, from: Record<string, unknown>, messageId: number) =>
  update({
    callback_query: {
      id: `cb${updateId}`,
      from: { is_bot: false, ...from },
      data,
      chat_instance: 'x',
      message: { message_id: messageId, date: 0, chat: { id: OWNER.id, type: 'private' } },
    },
  })

beforeAll(async () => {
  h = await createHarness({ env: { PUBLIC_URL } })
  shopId = await h.shop('Цветы у дома')
  const c = await h.connect(shopId, token)
  const code = new URL(c.connectLink).searchParams.get('start')!
  await start({ id: OWNER.id, type: 'private', first_name: 'Ольга' }, code)
  const g = (await h.post(`/shops/${shopId}/telegram/link`)).json
  await start({ id: -1006600002, type: 'supergroup', title: 'Флористы' }, new URL(g.connectGroupLink).searchParams.get('startgroup')!)
  expect((await h.get(`/shops/${shopId}/telegram/chats`)).json.items).toHaveLength(2)
})
afterAll(() => h.close())

describe('the shop’s page inside Telegram, from the bot', () => {
  test('a bound private chat gets the menu button «Заказы» opening the shop’s page as a Mini App; a group does not', async () => {
    const calls = h.fake.callsOf('setChatMenuButton', token)
    expect(calls).toHaveLength(1)
    expect(calls[0]!.payload).toEqual({
      chat_id: OWNER.id,
      menu_button: { type: 'web_app', text: 'Заказы', web_app: { url: `${PUBLIC_URL}/shops/${shopId}/growth/telegram` } },
    })
  })

  test('«Открыть» is a web_app button in the private chat and a link in the group', async () => {
    const r = await h.post(`/shops/${shopId}/orders`, { number: 'MA-1', total: 990, customerName: 'Анна' })
    expect(r.status).toBe(201)
    const orderId = r.json.order.id
    const sent = h.fake.sent(token).filter((c) => String(c.payload.text).includes('MA-1'))
    const toOwner = sent.find((c) => c.payload.chat_id === String(OWNER.id))!
    const toGroup = sent.find((c) => c.payload.chat_id === '-1006600002')!
    expect(buttons(toOwner).find((b) => b.text === 'Открыть')).toEqual({
      text: 'Открыть',
      web_app: { url: `${PUBLIC_URL}/shops/${shopId}/growth/telegram?order=${orderId}` },
    })
    const link = buttons(toGroup).find((b) => b.text === 'Открыть')!
    expect(link.web_app).toBeUndefined()
    expect(link.url).toBe(`${PUBLIC_URL}/shops/${shopId}/growth/telegram?order=${orderId}#order-${orderId}`)
  })

  test('someone else opening it is refused and the owner is asked once; only the owner’s «Разрешить» lets them in', async () => {
    const florist = () => h.post('/session', { shopId, initData: telegramInitData(token, FLORIST) })
    const before = h.fake.sent(token).length
    expect((await florist()).status).toBe(403)
    expect((await florist()).status).toBe(403) // asking again within ten minutes does not pester the owner
    const asks = h.fake.sent(token).slice(before)
    expect(asks).toHaveLength(1)
    const ask = asks[0]!
    expect(ask.payload.chat_id).toBe(String(OWNER.id))
    expect(String(ask.payload.text)).toContain('<b>Ира Смирнова</b> (@ira_flowers) хочет открыть заказы и настройки магазина «Цветы у дома»')
    const allow = buttons(ask)[0]!
    expect(allow.text).toBe('Разрешить')
    const messageId = Number((ask.result as { message_id: number }).message_id)
    const listed = (await h.get(`/shops/${shopId}/telegram/managers`)).json
    expect(listed.items).toEqual([])
    expect(listed.requests.map((r: { telegramUserId: number; name: string }) => [r.telegramUserId, r.name])).toEqual([[FLORIST.id, 'Ира Смирнова']])

    // the florist forwards the button to herself and presses it: not the owner, nothing changes
    await press(allow.callback_data!, FLORIST, messageId)
    expect(h.fake.callsOf('answerCallbackQuery', token).at(-1)!.payload.text).toBe('Разрешить может только владелец магазина')
    expect((await florist()).status).toBe(403)
    // forged data for another user
    await press(`m:${FLORIST.id + 1}:${allow.callback_data!.split(':')[2]}`, OWNER, messageId)
    expect(h.fake.callsOf('answerCallbackQuery', token).at(-1)!.payload.text).toBe('Эта кнопка не относится к этому магазину')

    await press(allow.callback_data!, OWNER, messageId)
    expect(h.fake.callsOf('answerCallbackQuery', token).at(-1)!.payload.text).toBe('Готово: Ира Смирнова может открывать магазин')
    const edit = await eventually(() => h.fake.callsOf('editMessageText', token).find((c) => c.payload.message_id === messageId), {
      message: 'the request edited',
    })
    expect(String(edit.payload.text)).toStartWith('✅ Разрешено: <b>Ира Смирнова</b>')
    const ok = await florist()
    expect(ok.status).toBe(201)
    expect(ok.json.shopId).toBe(shopId)
    const after = (await h.get(`/shops/${shopId}/telegram/managers`)).json
    expect(after.items.map((m: { telegramUserId: number }) => m.telegramUserId)).toEqual([FLORIST.id])
    expect(after.items[0].addedBy).toBe('Ольга (Telegram)')
    expect(after.requests).toEqual([])
    const audit = one(await h.sql`select actor_kind, action from audit_log where shop_id = ${shopId} and action = 'manager_allowed'`)
    expect(audit.actor_kind).toBe('telegram')
  })
})
