import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { buildUi, UI_ROOT, uiIsStale } from '../../src/platform/ui-build'
import { launchChromium } from '../browser'
import type { Call } from '../fake-telegram'
import {
  buttonsOf,
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
} from '../conversations/fixtures'
import { createHarness, eventually, type Harness } from '../helpers'

/**
 * The buyer's side as people see it: the buyer's chat with the shop's bot (drawn from what the fake
 * Bot API received: the greeting, a status, the bouquet photo with its two buttons, a question and
 * the shop's answer), and the order on the settings page with its photo, the approval and the talk.
 */
let browser: Browser
let h: Harness
const shot = (name: string) => path.join(UI_ROOT, 'screenshots', name)
const css = readFileSync(path.join(UI_ROOT, 'src', 'styles.css'), 'utf8')
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

beforeAll(async () => {
  if (uiIsStale()) await buildUi()
  browser = await launchChromium()
  h = await createHarness({ listen: true })
  h.services.dispatcher.start()
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await h?.close()
})

/** A bouquet photo for the fake Telegram to keep: drawn by the browser, so the screenshots show a picture. */
async function bouquetPng(): Promise<Uint8Array> {
  const ctx = await browser.newContext({ viewport: { width: 480, height: 480 } })
  try {
    const p = await ctx.newPage()
    await p.setContent(
      '<body style="margin:0;width:480px;height:480px;display:grid;place-items:center;background:radial-gradient(circle at 40% 35%,#fde2e4,#f8b4c0 45%,#9ccc9c 100%);font-size:260px">💐</body>',
    )
    return new Uint8Array(await p.screenshot({ type: 'png' }))
  } finally {
    await ctx.close()
  }
}

type Bubble = { html: string; buttons?: string[][]; photo?: string; mine?: boolean }

/** One chat screen: the bot's messages on the left (their HTML parsed by the browser), the buyer's on the right. */
async function draw(file: string, bubbles: Bubble[]) {
  const ctx = await browser.newContext({ viewport: { width: 440, height: 800 }, deviceScaleFactor: 2, locale: 'ru-RU' })
  try {
    const p = await ctx.newPage()
    await p.setContent(
      `<!doctype html><meta charset="utf-8"><style>${css} body{margin:0;background:#fff} .mine{margin-left:auto;background:#effdde;border-radius:14px 14px 4px 14px} .tg-photo{display:block;width:100%;border-radius:10px;margin:-4px 0 8px}</style>
      <div class="tg-chat" id="chat" style="border-radius:0;display:grid;gap:10px;align-content:start">${bubbles
        .map(
          (m, i) =>
            `<div><div class="tg-bubble${m.mine ? ' mine' : ''}" style="${m.mine ? 'max-width:300px' : ''}">${
              m.photo ? `<img class="tg-photo" src="${m.photo}" alt="">` : ''
            }<div class="tg-text" data-i="${i}"></div></div>${
              m.buttons?.length
                ? `<div class="tg-buttons">${m.buttons.map((r) => `<div>${r.map((b) => `<span>${esc(b)}</span>`).join('')}</div>`).join('')}</div>`
                : ''
            }</div>`,
        )
        .join('')}</div>`,
    )
    const shown: string[] = []
    for (const [i, m] of bubbles.entries())
      shown.push(
        await p.locator(`[data-i="${i}"]`).evaluate((el, html) => {
          el.innerHTML = html
          return (el as HTMLElement).innerText
        }, m.html),
      )
    await p.locator('#chat').screenshot({ path: shot(file) })
    return shown
  } finally {
    await ctx.close()
  }
}

const keyboard = (c: Call) =>
  ((c.payload.reply_markup as { inline_keyboard?: { text: string }[][] } | undefined)?.inline_keyboard ?? []).map((r) => r.map((b) => b.text))

describe('the buyer in Telegram, drawn', () => {
  test('the buyer’s chat (greeting, a status, the photo with its buttons, the talk) and the order on the page with its photo and approval', async () => {
    const o = await shopWithOrder(h, { name: 'Цветочная лавка', number: '2071' })
    const marina = person(7301, 'Марина', 'marina_private')
    const florist = person(8301, 'Ольга', 'olga_florist')
    const png = await bouquetPng()
    h.fake.addFile('BOUQUET_SHOT', png, 'photos/file_7.png')

    const greeting = await subscribe(h, o, marina)
    await h.request('PATCH', `/shops/${o.shopId}/orders/${o.orderId}`, { status: 'accepted', by: 'Ольга Петрова' })
    await h.request('PATCH', `/shops/${o.shopId}/orders/${o.orderId}`, { status: 'assembling', by: 'Ольга Петрова' })
    await deliver(h, o.token, groupMessage(o.group, florist, { photo: photoSizes('BOUQUET_SHOT') }, { message_id: o.orderMessageId }))
    const photo = await eventually(() => h.fake.callsOf('sendPhoto', o.token).find((c) => c.payload.photo === 'BOUQUET_SHOT'), { message: 'photo' })
    const questionText = 'Можно добавить ленту лавандового цвета?'
    const question = privateMessage(marina, { text: questionText })
    await deliver(h, o.token, question)
    const relayed = await eventually(() => toChat(h, o.token, o.group).find((c) => String(c.payload.text).startsWith('💬')), { message: 'relay' })
    const answerText = 'Конечно, добавим! 🎀'
    const answer = groupMessage(o.group, florist, { text: answerText }, { message_id: messageIdOf(relayed) })
    await deliver(h, o.token, answer)
    await eventually(() => h.fake.callsOf('copyMessage', o.token).find((c) => String(c.payload.chat_id) === String(marina.id)), { message: 'answer to buyer' })
    await deliver(h, o.token, pressIn(marina, buttonsOf(photo)[0]!.callback_data!, messageIdOf(photo)))
    await eventually(() => toChat(h, o.token, o.group).find((c) => String(c.payload.text).startsWith('👍')), { message: 'approval in group' })

    const statuses = toChat(h, o.token, marina.id).filter((c) => c.method === 'sendMessage' && c !== greeting)
    const dataUrl = `data:image/png;base64,${Buffer.from(png).toString('base64')}`
    const shown = await draw('telegram-buyer-chat.png', [
      { html: String(greeting.payload.text) },
      ...statuses.slice(0, 2).map((c) => ({ html: String(c.payload.text) })),
      { html: String(photo.payload.caption), photo: dataUrl, buttons: keyboard(photo) },
      { html: esc(questionText), mine: true },
      // a copy of the florist's message: the buyer sees its text, sent by the shop's bot
      { html: esc(answerText) },
    ])
    expect(shown[0]).toContain('Здравствуйте! 🌷 Это «Цветочная лавка»')
    expect(shown[1]).toBe('✅ Заказ №2071 принят. Скоро начнём собирать букет.')
    expect(shown[3]).toContain('Всё нравится?')
    expect(keyboard(photo)).toEqual([['👍 Всё нравится', '✏️ Хочу изменить']])
    for (const s of shown) expect(s).not.toContain('Ольга Петрова')

    // the order on the page: the buyer, the photo (fetched through the API) with its approval, the talk
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: 'ru-RU' })
    const errors: string[] = []
    try {
      const p = await ctx.newPage()
      p.on('pageerror', (e) => errors.push(String(e)))
      await p.goto(`${h.base}/shops/${o.shopId}/growth/telegram`)
      const row = p.locator(`[data-testid="recent-row"][data-order-number="2071"]`)
      const side = row.getByTestId('buyer-side')
      await side.waitFor({ timeout: 8000 })
      await eventually(
        async () => (await side.locator('img').count()) === 1 && (await side.locator('img').evaluate((i) => (i as HTMLImageElement).naturalWidth)) > 0,
        {
          message: 'photo drawn',
        },
      )
      const text = await side.innerText()
      expect(text).toContain('Марина')
      expect(text).toContain('следит за заказом в Telegram')
      expect(text).toContain('👍 покупателю нравится')
      expect(text).toContain('Можно добавить ленту лавандового цвета?')
      expect(text).toContain('Ольга → покупателю')
      expect(await side.getByTestId('order-photo').getAttribute('data-approval')).toBe('approved')
      await row.scrollIntoViewIfNeeded()
      await row.screenshot({ path: shot('desktop-order-buyer.png') })
    } finally {
      await ctx.close()
    }
    expect(errors).toEqual([])
  }, 60_000)
})
