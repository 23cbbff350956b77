import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { renderReminder } from '../../src/notifications'
import { buildUi, UI_ROOT, uiIsStale } from '../../src/platform/ui-build'
import { launchChromium } from '../browser'
import { makeToken, type Call } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'

/**
 * The florist's day as people see it: the settings card with tomorrow's summary preview, and the bot's
 * messages drawn as Telegram draws them (the HTML the fake Bot API received, with its buttons).
 */
let browser: Browser
let h: Harness
let shopId: number
const token = makeToken()
const shot = (name: string) => path.join(UI_ROOT, 'screenshots', name)
const localDay = (offsetDays: number) => {
  const d = new Date(Date.now() + offsetDays * 86_400_000)
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Moscow' }).format(d)
}

beforeAll(async () => {
  if (uiIsStale()) await buildUi()
  browser = await launchChromium()
  h = await createHarness({ listen: true })
  shopId = await h.shop('Цветы у дома')
  await h.connect(shopId, token, '8200001')
  for (const [n, time, name, status] of [
    ['1041', '10:00–12:00', 'Мария', 'accepted'],
    ['1042', '10:00–12:00', 'Олег', 'new'],
    ['1043', '18:00', 'Светлана', 'new'],
  ] as const) {
    const r = await h.post(`/shops/${shopId}/orders`, {
      number: n,
      total: 3490,
      customerName: 'Клиент',
      recipientName: name,
      address: `ул. Ленина, ${n.slice(2)}`,
      deliveryDate: localDay(1),
      deliveryTime: time,
    })
    if (status !== 'new') await h.request('PATCH', `/shops/${shopId}/orders/${r.json.order.id}`, { status })
  }
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await h?.close()
})

describe('the florist’s day on the settings page', () => {
  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 900 }],
    ['phone', { width: 375, height: 812 }],
  ] as const) {
    test(`${name}: time zone, reminder lead and summary time, with tomorrow’s summary drawn as Telegram shows it`, async () => {
      const ctx = await browser.newContext({ viewport, locale: 'ru-RU', ...(name === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) })
      const errors: string[] = []
      try {
        const p = await ctx.newPage()
        p.on('pageerror', (e) => errors.push(String(e)))
        await p.goto(`${h.base}/shops/${shopId}/growth/telegram`)
        const card = p.getByTestId('day-card')
        const preview = card.getByTestId('summary-preview')
        await preview.waitFor({ timeout: 8000 })
        const text = (await preview.innerText()).replace(/\u00a0/g, ' ')
        const [y, m, d] = localDay(1).split('-')
        expect(text).toContain(`Доставки на ${d}.${m}.${y}`)
        expect(text).toContain(`Так будет выглядеть сводка на ${d}.${m} — придёт в 08:00 по времени магазина`)
        expect(text).toContain('Всего: 3 на 10 470 ₽ · не приняты: 2')
        expect(text).toContain('№1041 Мария, ул. Ленина, 41 — Принят')
        expect(text).not.toContain('<b>') // drawn, not shown as markup
        expect(await preview.locator('b').first().textContent()).toContain('Доставки на')
        expect(await card.getByTestId('day-zone').inputValue()).toBe('Europe/Moscow')
        expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width)
        await card.scrollIntoViewIfNeeded()
        await card.screenshot({ path: shot(`${name}-florist-day.png`) })

        if (name === 'desktop') {
          await card.getByTestId('day-zone').selectOption('Asia/Vladivostok')
          await card.getByTestId('day-lead').selectOption('90')
          // 24-hour selects, not the browser's time input (which would say «7:30 AM» in English)
          await card.getByTestId('day-summary-time-hour').selectOption('07')
          await card.getByTestId('day-summary-time-minute').selectOption('30')
          await card.getByTestId('day-accept-within').selectOption('off')
          await card.getByTestId('day-save').click()
          await eventually(async () => (await card.getByTestId('day-state').textContent())?.includes('Сохранено'), { message: 'saved' })
          expect((await h.get(`/shops/${shopId}/telegram/settings`)).json).toEqual({
            timeZone: 'Asia/Vladivostok',
            reminderLeadMinutes: 90,
            summaryTime: '07:30',
            acceptWithinMinutes: null,
          })
          expect(await preview.innerText()).toContain('придёт в 07:30 по времени магазина')
          // «Отправить сводку за сегодня» sends today's now, to the chats that get the summary
          const before = h.fake.sent(token).length
          await card.getByTestId('day-send-now').click()
          await eventually(async () => (await card.getByTestId('day-state').textContent())?.includes('отправлена в 1 чат'), { message: 'sent now' })
          expect(String(h.fake.sent(token).at(-1)!.payload.text)).toStartWith('☀️')
          expect(h.fake.sent(token).length).toBe(before + 1)
          await h.request('PATCH', `/shops/${shopId}/telegram/settings`, {
            timeZone: 'Europe/Moscow',
            reminderLeadMinutes: 60,
            summaryTime: '08:00',
            acceptWithinMinutes: 15,
          })
        }
      } finally {
        await ctx.close()
      }
      expect(errors).toEqual([])
    })
  }
})

describe('the bot’s messages as Telegram shows them', () => {
  type Button = { text: string }
  const keyboard = (c: Call) =>
    ((c.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).map((r) => r.map((b) => b.text))
  const css = readFileSync(path.join(UI_ROOT, 'src', 'styles.css'), 'utf8')
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

  /** One chat screen with the messages, their HTML parsed by the browser (it is the bot's own, escaped, HTML). */
  async function draw(file: string, messages: { html: string; buttons?: string[][] }[], width = 480) {
    const ctx = await browser.newContext({ viewport: { width, height: 800 }, deviceScaleFactor: 2, locale: 'ru-RU' })
    try {
      const p = await ctx.newPage()
      await p.setContent(
        `<!doctype html><meta charset="utf-8"><style>${css} body{margin:0;background:#fff}</style><div class="tg-chat" id="chat" style="border-radius:0;display:grid;gap:10px;align-content:start">${messages
          .map(
            (m, i) =>
              `<div><div class="tg-bubble"><div class="tg-text" data-i="${i}"></div></div>${
                m.buttons?.length
                  ? `<div class="tg-buttons">${m.buttons.map((r) => `<div>${r.map((b) => `<span>${esc(b)}</span>`).join('')}</div>`).join('')}</div>`
                  : ''
              }</div>`,
          )
          .join('')}</div>`,
      )
      const shown: string[] = []
      for (const [i, m] of messages.entries()) {
        shown.push(
          await p.locator(`[data-i="${i}"]`).evaluate((el, html) => {
            el.innerHTML = html
            return (el as HTMLElement).innerText
          }, m.html),
        )
      }
      await p.locator('#chat').screenshot({ path: shot(file) })
      return shown
    } finally {
      await ctx.close()
    }
  }

  test('a full order (three items, a postcard, a surprise), fifty long items, the reminder, the morning summary and /orders', async () => {
    const full = await h.post(`/shops/${shopId}/orders`, {
      number: '1050',
      total: 7980,
      customerName: 'Игорь Ветров',
      customerPhone: '+7 900 111-22-33',
      recipientName: 'Анна <Б>',
      recipientPhone: '+7 900 444-55-66',
      address: 'Москва, ул. Садовая, 12, кв. 5, домофон 5К',
      deliveryDate: localDay(0),
      deliveryTime: '14:00–16:00',
      surprise: true,
      items: [
        { name: 'Букет «Нежность» (15 пионовидных роз)', quantity: 1, price: 5490 },
        { name: 'Ваза стеклянная', quantity: 1, price: 1490 },
        { name: 'Шоколад ручной работы', quantity: 2, price: 500 },
      ],
      cardText: 'С днём рождения, любимая! Твой И.',
      comment: 'Позвонить мне за 30 минут до доставки',
    })
    expect(full.status).toBe(201)
    const long = await h.post(`/shops/${shopId}/orders`, {
      number: '1051',
      total: 150000,
      customerName: 'Оптовый клиент',
      items: Array.from({ length: 50 }, (_, i) => ({ name: `Роза сортовая «${'Эквадорская премиальная '.repeat(6)}» №${i + 1}`, quantity: 10, price: 300 })),
    })
    expect(long.status).toBe(201)
    const [fullMsg, longMsg] = h.fake.sent(token).slice(-2)
    const summary = await h.post(`/shops/${shopId}/telegram/summary`)
    const summaryMsg = h.fake.sent(token).at(-1)!
    expect(String(summaryMsg.payload.text)).toBe(summary.json.text)
    await h.fake.deliver(token, {
      update_id: 880_001,
      message: {
        message_id: 9,
        date: Math.floor(Date.now() / 1000),
        chat: { id: 8200001, type: 'private' },
        from: { id: 1, is_bot: false, first_name: 'Ольга' },
        text: '/orders',
      },
    })
    const list = await eventually(() => h.fake.sent(token).find((c) => String(c.payload.text).startsWith('📋')), { message: '/orders answered' })
    const reminder = renderReminder(
      { number: '1050', status: 'accepted', deliveryTime: '14:00–16:00', address: 'Москва, ул. Садовая, 12', recipientName: 'Анна <Б>' },
      60,
    )

    const shown = await draw('telegram-order.png', [{ html: String(fullMsg!.payload.text), buttons: keyboard(fullMsg!) }])
    const order = shown[0]!.replace(/\u00a0/g, ' ')
    // in the order a florist reads it: surprise, when and where, what to assemble, postcard, money, people
    const at = (s: string) => order.indexOf(s)
    for (const s of ['Сюрприз — не звонить получателю!', 'Доставка:', 'Адрес:', 'Собрать:', 'Открытка:', 'Сумма: 7 980 ₽', 'Клиент: Игорь Ветров'])
      expect(at(s)).toBeGreaterThan(-1)
    expect(at('Сюрприз')).toBeLessThan(at('Доставка:'))
    expect(at('Собрать:')).toBeLessThan(at('Открытка:'))
    expect(at('Открытка:')).toBeLessThan(at('Сумма:'))
    expect(order).toContain('Получатель: Анна <Б>') // as typed, and without the phone: it is a surprise
    expect(order).not.toContain('444-55-66')
    expect(keyboard(fullMsg!)).toEqual([['Принять', 'Открыть']])

    const [longShown] = await draw('telegram-order-50-items.png', [{ html: String(longMsg!.payload.text), buttons: keyboard(longMsg!) }])
    expect(String(longMsg!.payload.text).length).toBeLessThan(4096)
    expect(longShown).toMatch(/и ещё \d+ позици/)

    const [rem, sum, orders] = await draw('telegram-day.png', [
      { html: reminder, buttons: [['Открыть']] },
      { html: summary.json.text },
      { html: String(list.payload.text), buttons: keyboard(list) },
    ])
    expect(rem).toContain('⏰ Через 60 минут доставка, заказ ещё не собран')
    expect(sum).toContain('Доставки на')
    expect(orders).toContain('№1051')
    expect(keyboard(list)[0]).toContain('№1051')
  }, 30_000)
})
