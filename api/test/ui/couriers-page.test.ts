import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { buildUi, UI_ROOT, uiIsStale } from '../../src/platform/ui-build'
import { launchChromium } from '../browser'
import { buttons, COURIER_CHAT, ORDER, press, privateMessage, STAFF_CHAT, user } from '../couriers/fixtures'
import type { Call } from '../fake-telegram'
import { makeToken } from '../fake-telegram'
import { createHarness, eventually, one, type Harness } from '../helpers'

/**
 * Couriers as people see them: the delivery card in the couriers' group, the courier's private card,
 * the proof of delivery in the staff chat (drawn from what the fake Bot API received), and the page
 * with the courier on each order and the roles of the chats.
 */
let browser: Browser
let h: Harness
let shopId: number
const token = makeToken('U')
const shot = (f: string) => path.join(UI_ROOT, 'screenshots', f)
const courier = user(7301, 'Сергей', 'Доставкин')
const calls: Record<string, Call> = {}
/** The courier's photo of the handover, as Telegram keeps it (the fake serves it to getFile and the download). */
let photo: Buffer

beforeAll(async () => {
  if (uiIsStale()) await buildUi()
  browser = await launchChromium()
  const pctx = await browser.newContext({ viewport: { width: 320, height: 320 } })
  const pp = await pctx.newPage()
  await pp.setContent(
    '<body style="margin:0"><div style="width:320px;height:320px;display:grid;place-items:center;font-size:150px;background:linear-gradient(135deg,#f7c6d0,#e56b8a 55%,#7a9e5a)">💐</div>',
  )
  photo = await pp.screenshot()
  await pctx.close()
  h = await createHarness({ listen: true })
  h.fake.addFile('PROOF-2041', new Uint8Array(photo), 'photos/proof.png')
  h.services.start()
  shopId = await h.shop('Цветы у дома')
  await h.connect(shopId, token, STAFF_CHAT)
  await h.sql`update telegram_chats set title = 'Ольга (владелец)', type = 'private' where shop_id = ${shopId}`
  const c = await h.post(`/shops/${shopId}/telegram/chats`, { chatId: COURIER_CHAT, role: 'courier' })
  await h.sql`update telegram_chats set title = 'Курьеры «Цветы у дома»', type = 'supergroup' where id = ${c.json.id}`
  await h.sql`insert into courier_contacts (shop_id, tg_user_id, chat_id, name) values (${shopId}, ${courier.id}, ${String(courier.id)}, 'Сергей')`

  // 1: delivered with a photo; 2: taken, on its way; 3: waiting for a courier
  const ids: number[] = []
  for (const [number, extra] of [
    ['2041', { deliveryDate: '2026-03-08', deliveryTime: '10:00–12:00' }],
    ['2042', { address: 'пр. Мира, 48, офис 301', recipientName: 'Елена', recipientPhone: '+7 900 777-88-99' }],
    ['2043', { surprise: true, comment: 'Оставить у консьержа, если не откроют' }],
  ] as const) {
    const r = await h.post(`/shops/${shopId}/orders`, { number, ...ORDER, ...extra })
    for (const status of ['accepted', 'assembling']) await h.request('PATCH', `/shops/${shopId}/orders/${r.json.order.id}`, { status })
    ids.push(r.json.order.id)
  }
  const card = (n: string) =>
    eventually(() => h.fake.sent(token).find((x) => String(x.payload.chat_id) === COURIER_CHAT && String(x.payload.text).includes(`№${n}`)), {
      message: `card ${n}`,
    })
  calls.open = await card('2043')
  for (const [i, n] of ['2041', '2042'].entries()) {
    const k = await card(n)
    await h.fake.deliver(token, press(buttons(k)[0]!.callback_data, (k.result as { message_id: number }).message_id, COURIER_CHAT, courier))
    if (i === 0) calls.card = k
  }
  calls.taken = await eventually(
    () =>
      h.fake
        .callsOf('editMessageText', token)
        .find((x) => x.payload.message_id === (calls.card!.result as { message_id: number }).message_id && String(x.payload.text).includes('Взял')),
    { message: 'taken card' },
  )
  calls.private = await eventually(
    () => h.fake.sent(token).find((x) => String(x.payload.chat_id) === String(courier.id) && String(x.payload.text).includes('№2041')),
    {
      message: 'private card',
    },
  )
  await h.fake.deliver(token, press(buttons(calls.private).find((b) => b.text === '✅ Доставлено')!.callback_data, 1, courier.id, courier))
  await h.fake.deliver(token, privateMessage(courier, { photo: [{ file_id: 'PROOF-2041' }] }))
  calls.proof = await eventually(() => h.fake.callsOf('sendPhoto', token).find((x) => String(x.payload.chat_id) === STAFF_CHAT), { message: 'proof' })
  calls.staffOrder = h.fake.sent(token).find((x) => String(x.payload.chat_id) === STAFF_CHAT && String(x.payload.text).includes('№2041'))!
  expect(one(await h.sql`select status from orders where id = ${ids[0]!}`).status).toBe('done')
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await h?.close()
})

const rows = (c: Call) =>
  ((c.payload.reply_markup as { inline_keyboard?: { text: string }[][] } | undefined)?.inline_keyboard ?? []).map((r) => r.map((b) => b.text))
const css = readFileSync(path.join(UI_ROOT, 'src', 'styles.css'), 'utf8')
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

/** One chat screen with the messages as Telegram shows them (the bot's own escaped HTML, parsed by the browser). */
async function draw(file: string, title: string, messages: { html: string; buttons?: string[][]; photo?: boolean; reply?: string }[]) {
  const ctx = await browser.newContext({ viewport: { width: 480, height: 800 }, deviceScaleFactor: 2, locale: 'ru-RU' })
  try {
    const p = await ctx.newPage()
    await p.setContent(
      `<!doctype html><meta charset="utf-8"><style>${css} body{margin:0;background:#fff}
      .photo{display:block;width:calc(100% + 20px);height:260px;object-fit:cover;border-radius:10px 10px 0 0;margin:-8px -10px 8px}
      .reply{border-left:3px solid #3390ec;padding:2px 8px;margin-bottom:6px;font-size:13px;color:#3390ec;background:#eef5fd;border-radius:4px}
      .head{font:600 15px system-ui;padding:10px 14px;background:#517da2;color:#fff}</style>
      <div id="screen"><div class="head">${esc(title)}</div>
      <div class="tg-chat" id="chat" style="border-radius:0;display:grid;gap:10px;align-content:start">${messages
        .map(
          (m, i) =>
            `<div><div class="tg-bubble">${m.photo ? `<img class="photo" alt="" src="data:image/png;base64,${photo.toString('base64')}">` : ''}${m.reply ? `<div class="reply">${esc(m.reply)}</div>` : ''}<div class="tg-text" data-i="${i}"></div></div>${
              m.buttons?.length
                ? `<div class="tg-buttons">${m.buttons.map((r) => `<div>${r.map((b) => `<span>${esc(b)}</span>`).join('')}</div>`).join('')}</div>`
                : ''
            }</div>`,
        )
        .join('')}</div></div>`,
    )
    const shown: string[] = []
    for (const [i, m] of messages.entries())
      shown.push(
        await p.locator(`[data-i="${i}"]`).evaluate((el, html) => {
          el.innerHTML = html
          return (el as HTMLElement).innerText
        }, m.html),
      )
    await p.locator('#screen').screenshot({ path: shot(file) })
    return shown
  } finally {
    await ctx.close()
  }
}

describe('couriers as Telegram shows them', () => {
  test('the card in the couriers’ group: open, then taken; never the buyer or the money', async () => {
    const [open, taken] = await draw('telegram-courier-card.png', 'Курьеры «Цветы у дома»', [
      { html: String(calls.open!.payload.text), buttons: rows(calls.open!) },
      { html: String(calls.taken!.payload.text), buttons: rows(calls.taken!) },
    ])
    expect(open).toContain('Сюрприз — не звонить получателю!')
    expect(rows(calls.open!)).toEqual([['🚚 Беру']])
    expect(taken).toContain('Взял: Сергей Доставкин')
    for (const t of [open!, taken!]) for (const secret of [ORDER.customerName, ORDER.customerPhone, '₽', 'Розы']) expect(t).not.toContain(secret)
  }, 30_000)

  test('the courier’s private card: copy buttons, a map, and how it went', async () => {
    const [text] = await draw('telegram-courier-private.png', 'Цветы у дома (бот)', [
      { html: String(calls.private!.payload.text), buttons: rows(calls.private!) },
    ])
    expect(text).toContain('Ваша доставка №2041')
    expect(rows(calls.private!)).toEqual([['📋 Адрес', '📋 Телефон'], ['🗺 Открыть на карте'], ['✅ Доставлено'], ['📵 Не дозвонился', '↩️ Вернул в магазин']])
  }, 30_000)

  test('the proof in the staff chat, under the order’s message', async () => {
    const [, caption] = await draw('telegram-courier-proof.png', 'Ольга (владелец)', [
      { html: String(calls.staffOrder!.payload.text) },
      { html: String(calls.proof!.payload.caption), photo: true, reply: 'Новый заказ №2041' },
    ])
    expect(caption).toContain('Заказ №2041 доставлен')
    expect(caption).toContain('Курьер: Сергей Доставкин')
  }, 30_000)
})

describe('the page with couriers', () => {
  test('each order shows its courier (and the photo of the handover); the recipients card shows the couriers’ chat', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'ru-RU' })
    const errors: string[] = []
    try {
      const p = await ctx.newPage()
      p.on('pageerror', (e) => errors.push(String(e)))
      await p.goto(`${h.base}/shops/${shopId}/growth/telegram`)
      const couriers = p.getByTestId('order-courier')
      await eventually(async () => (await couriers.count()) === 2, { message: 'two orders with a courier', timeoutMs: 8000 })
      expect(await p.locator('[data-testid=recent-row][data-order-number="2041"] [data-testid=order-courier]').textContent()).toContain('Сергей Доставкин')
      await p.locator('[data-testid=recent-row][data-order-number="2041"] [data-testid=delivery-photo] img').waitFor({ timeout: 8000 })
      expect(await p.locator('[data-testid=recent-row][data-order-number="2043"] [data-testid=order-courier]').count()).toBe(0)
      const recipients = p.getByTestId('recipient')
      await eventually(async () => (await recipients.count()) === 2, { message: 'two recipients', timeoutMs: 8000 })
      expect(await recipients.nth(1).getByTestId('recipient-role').inputValue()).toBe('courier')
      expect(await recipients.nth(1).getByTestId('recipient-courier-help').textContent()).toContain('без суммы')
      expect(await recipients.nth(0).getByTestId('recipient-role').inputValue()).toBe('staff')
      // a courier chat has no staff events to choose
      expect(await recipients.nth(1).getByTestId('event-order_created').count()).toBe(0)
      expect(await recipients.nth(0).getByTestId('event-order_created').count()).toBe(1)
      await p.locator('[data-testid=recent-list]').scrollIntoViewIfNeeded()
      await p.locator('[data-testid=recent-list]').screenshot({ path: shot('desktop-couriers-orders.png') })
      await p.getByTestId('recipients').screenshot({ path: shot('desktop-couriers-recipients.png') })
    } finally {
      await ctx.close()
    }
    expect(errors).toEqual([])
  }, 30_000)
})
