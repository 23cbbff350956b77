/**
 * The page's first five minutes, as a new shop owner lives them: from opening the page to the first
 * test message in their own chat, counting every tap and paste, at phone and desktop width. Each step
 * must bring the next action into view by itself (see Owner in ./owner-steps.ts) and say so to a
 * screen reader; axe finds no serious or critical violation in any of the new states.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser, BrowserContextOptions } from 'playwright-core'
import { buildUi, uiIsStale } from '../../src/platform/ui-build'
import { launchChromium } from '../browser'
import { MockClient } from '../../src/bot-api/mock-client'
import { makeToken } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'
import { person, toManager, toShopBot } from '../managed/fixtures'
import { telegramInitData, telegramWebAppStub } from '../mini-app'
import { expectAccessible, Owner, screenshot } from './owner-steps'

let browser: Browser
let h: Harness

const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }
const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 } }

beforeAll(async () => {
  if (uiIsStale()) await buildUi()
  browser = await launchChromium()
  h = await createHarness({ listen: true })
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await h?.close()
})

/** A private /start from the owner's Telegram, as Telegram sends it after «Запустить». */
const startUpdate = (updateId: number, chatId: number, code: string) => ({
  update_id: updateId,
  message: {
    message_id: 1,
    date: Math.floor(Date.now() / 1000),
    chat: { id: chatId, type: 'private', first_name: 'Ольга' },
    from: { id: chatId, is_bot: false, first_name: 'Ольга' },
    text: `/start ${code}`,
  },
})

describe('the first five minutes with a bot token (no manager bot)', () => {
  for (const [name, size] of [
    ['phone', PHONE],
    ['desktop', DESKTOP],
  ] as const) {
    test(`${name}: one paste and three taps from opening the page to a test message in the owner’s chat; each next step in view and announced`, async () => {
      const shopId = await h.shop(`Цветы у дома (${name})`)
      const token = makeToken(name.toUpperCase())
      const chatId = name === 'phone' ? 8_400_001 : 8_400_002
      // An English browser: times must still be 24-hour.
      const ctx = await browser.newContext({ ...size, locale: 'en-US', timezoneId: 'Europe/Moscow', bypassCSP: true })
      await ctx.route('https://t.me/**', (r) => r.fulfill({ contentType: 'text/html', body: '<title>Telegram</title>' }))
      const errors: string[] = []
      try {
        const p = await ctx.newPage()
        p.on('pageerror', (e) => errors.push(String(e)))
        const owner = new Owner(p)
        await p.goto(`${h.base}/shops/${shopId}/growth/telegram`)

        // The first screen: the shop's name, one thing to do (paste a token), nothing about chat ids.
        await p.getByTestId('start-card').waitFor({ timeout: 8000 })
        await p
          .getByTestId('shop-name')
          .filter({ hasText: `Цветы у дома (${name})` })
          .waitFor({ timeout: 8000 })
        expect(await p.getByTestId('chat-input').isVisible()).toBe(false) // folded under «Дополнительно»
        expect(await p.getByTestId('more').getAttribute('open')).toBeNull()
        expect(await p.locator('input[type=time]').count()).toBe(0)
        await p.screenshot({ path: screenshot(`first-${name}-token.png`), fullPage: name === 'desktop' })
        await expectAccessible(p, 'first screen, token path')

        await owner.paste(p.getByTestId('token-input'), token, 'Токен бота')
        await owner.tap(p.getByTestId('save-button'), 'Сохранить')

        // Step 2 comes into view by itself and is said.
        const link = p.getByTestId('connect-link')
        await link.waitFor({ timeout: 8000 })
        await p.getByTestId('announce').filter({ hasText: 'Следующий шаг: откройте его в Telegram и нажмите «Запустить»' }).waitFor({ timeout: 8000 })
        const href = (await link.getAttribute('href'))!
        await p.screenshot({ path: screenshot(`first-${name}-open-bot.png`) })
        await expectAccessible(p, 'waiting for /start')
        await owner.tap(link, 'Открыть бота в Telegram')
        await owner.inTelegram('Запустить', () => h.fake.deliver(token, startUpdate(9_400_000 + chatId, chatId, new URL(href).searchParams.get('start')!)))

        // Step 3: the test message, in view and announced.
        await p.getByTestId('announce').filter({ hasText: 'Последний шаг: отправьте тестовое сообщение' }).waitFor({ timeout: 8000 })
        expect(await p.getByTestId('state-badge').textContent()).toBe('Ждёт первого сообщения') // bound, nothing through yet
        const before = h.fake.sent(token).length
        await p.screenshot({ path: screenshot(`first-${name}-test-step.png`) })
        await expectAccessible(p, 'chat bound, test step')
        await owner.tap(p.getByTestId('test-button'), 'Отправить тестовое сообщение')
        await p.getByTestId('test-result').filter({ hasText: 'Тестовое сообщение отправлено' }).waitFor({ timeout: 8000 })
        const sent = h.fake.sent(token).slice(before)
        expect(sent).toHaveLength(1)
        expect(sent[0]!.payload).toMatchObject({ chat_id: String(chatId) })

        // The owner's chat: now «Работает», because a message got through.
        await p.locator('[data-testid=recipient] [data-testid=recipient-state]').filter({ hasText: 'Работает' }).waitFor({ timeout: 8000 })
        await p.getByTestId('state-badge').filter({ hasText: 'Работает' }).waitFor({ timeout: 8000 })
        console.log(`${name}, token path: ${owner.log.join(' → ')}`)
        expect({ pastes: owner.pastes, pageTaps: owner.pageTaps }).toEqual({ pastes: 1, pageTaps: 3 })
        expect(owner.telegramTaps).toBe(1)
      } finally {
        await ctx.close()
      }
      expect(errors).toEqual([])
    }, 60_000)
  }
})

describe('the first five minutes with the platform’s manager bot (one tap to a bot)', () => {
  const MANAGER = makeToken('MANAGER')
  let m: Harness
  beforeAll(async () => {
    m = await createHarness({ listen: true, env: { MANAGER_BOT_TOKEN: MANAGER } })
    m.fake.enableBotManagement(MANAGER) // as its owner does in @BotFather
  })
  afterAll(async () => {
    await m?.close()
  })

  for (const [name, size] of [
    ['phone', PHONE],
    ['desktop', DESKTOP],
  ] as const) {
    test(`${name}: «Создать бота для магазина» first, nothing typed, two taps on the page; Telegram plays its part through the fake Bot API`, async () => {
      const shopId = await m.shop(`Ромашка ${name}`)
      const ctx = await browser.newContext({ ...size, locale: 'ru-RU', timezoneId: 'Europe/Moscow', bypassCSP: true })
      await ctx.route('https://t.me/**', (r) => r.fulfill({ contentType: 'text/html', body: '<title>Telegram</title>' }))
      const errors: string[] = []
      try {
        const p = await ctx.newPage()
        p.on('pageerror', (e) => errors.push(String(e)))
        const owner = new Owner(p)
        const ownerTg = person('Ольга')
        await p.goto(`${m.base}/shops/${shopId}/growth/telegram`)

        // One action first; the token is the secondary path; no field to fill.
        const create = p.getByTestId('managed-create')
        await create.waitFor({ timeout: 8000 })
        await p
          .getByTestId('shop-name')
          .filter({ hasText: `Ромашка ${name}` })
          .waitFor({ timeout: 8000 })
        expect(await p.title()).toBe(`Уведомления в Telegram — Ромашка ${name}`)
        expect(await p.getByTestId('own-bot').textContent()).toBe('У меня уже есть бот')
        expect(await p.getByTestId('token-input').count()).toBe(0)
        expect(await p.getByTestId('qr').isVisible()).toBe(name === 'desktop') // a QR code for the phone, on the big screen
        await p.screenshot({ path: screenshot(`first-${name}-managed.png`) })
        await expectAccessible(p, 'first screen, manager bot')

        const url = new URL((await create.getAttribute('href'))!)
        expect(url.origin).toBe('https://t.me')
        await owner.tap(create, 'Создать бота для магазина')

        // Telegram's part: «Запустить» at the manager bot, then its «Создать бота» button (Telegram confirms the new bot).
        await owner.inTelegram('Запустить', () => toManager(m, MANAGER, m.fake.message(ownerTg, `/start ${url.searchParams.get('start')}`)))
        const prompt = m.fake.sent(MANAGER).at(-1)!
        const button = (prompt.payload.reply_markup as { keyboard: { request_managed_bot: { suggested_username: string; suggested_name: string } }[][] })
          .keyboard[0]![0]!.request_managed_bot
        const bot = m.fake.createManagedBot(MANAGER, ownerTg, { username: button.suggested_username, name: button.suggested_name })
        await owner.inTelegram('Создать бота', () => toManager(m, MANAGER, bot.update))

        // The page sees the new bot by itself and brings the next step into view.
        await p.getByTestId('announce').filter({ hasText: 'создан. Следующий шаг' }).waitFor({ timeout: 8000 })
        await p.getByTestId('managed-created').waitFor()
        await p.screenshot({ path: screenshot(`first-${name}-managed-created.png`) })
        await expectAccessible(p, 'bot created, waiting for /start')
        // The manager bot handed the owner the new bot: «Открыть» and «Запустить» there bind their chat.
        const open = (m.fake.sent(MANAGER).at(-1)!.payload.reply_markup as { inline_keyboard: { url?: string }[][] }).inline_keyboard.flat().find((b) => b.url)!
        const code = new URL(open.url!).searchParams.get('start')!
        await owner.inTelegram('Открыть бота', async () => {})
        await owner.inTelegram('Запустить', () => toShopBot(m, bot.token, m.fake.message(ownerTg, `/start ${code}`)))

        await p.getByTestId('announce').filter({ hasText: 'Последний шаг: отправьте тестовое сообщение' }).waitFor({ timeout: 8000 })
        const before = m.fake.sent(bot.token).length
        await owner.tap(p.getByTestId('test-button'), 'Отправить тестовое сообщение')
        await p.getByTestId('test-result').filter({ hasText: 'Тестовое сообщение отправлено' }).waitFor({ timeout: 8000 })
        const sent = m.fake.sent(bot.token).slice(before)
        expect(sent.map((c) => String(c.payload.chat_id))).toEqual([String(ownerTg.id)])

        // The settings know the bot was made for the shop: no token field, a rotation button instead.
        expect(await p.getByTestId('managed-token').textContent()).toContain('создан через Posiflora')
        console.log(`${name}, manager bot: ${owner.log.join(' → ')}`)
        expect({ pastes: owner.pastes, pageTaps: owner.pageTaps }).toEqual({ pastes: 0, pageTaps: 2 })
        expect(owner.telegramTaps).toBe(4)
      } finally {
        await ctx.close()
      }
      expect(errors).toEqual([])
    }, 60_000)
  }

  test('«У меня уже есть бот» opens the token field in view, focused, with where a token comes from', async () => {
    const shopId = await m.shop('Лилия')
    const ctx = await browser.newContext({ ...PHONE, locale: 'ru-RU', bypassCSP: true })
    try {
      const p = await ctx.newPage()
      const owner = new Owner(p)
      await p.goto(`${m.base}/shops/${shopId}/growth/telegram`)
      await owner.tap(p.getByTestId('own-bot'), 'У меня уже есть бот')
      const field = p.getByTestId('token-input')
      await eventually(() => field.evaluate((el) => el === document.activeElement), { message: 'the token field focused' })
      expect(await p.getByTestId('token-path').textContent()).toContain('@BotFather')
      await owner.paste(field, makeToken('OWN'), 'Токен бота')
      await p.screenshot({ path: screenshot('first-phone-own-bot.png') })
      await expectAccessible(p, 'manager bot, own bot opened')
      await owner.tap(p.getByTestId('save-button'), 'Сохранить')
      await p.getByTestId('connect-link').waitFor({ timeout: 8000 })
      expect((await m.get(`/shops/${shopId}/telegram/status`)).json).toMatchObject({ state: 'waiting_chat', managed: false })
    } finally {
      await ctx.close()
    }
  }, 60_000)

  test('demo mode (TELEGRAM_MODE=mock): three taps on the page, nothing typed, the test message recorded', async () => {
    const demo = await createHarness({ listen: true, client: new MockClient(), env: { TELEGRAM_MODE: 'mock', MANAGER_BOT_TOKEN: MANAGER } })
    const ctx = await browser.newContext({ ...PHONE, locale: 'ru-RU', bypassCSP: true })
    try {
      const shopId = await demo.shop('Демо-цветы')
      const p = await ctx.newPage()
      const owner = new Owner(p)
      await p.goto(`${demo.base}/shops/${shopId}/growth/telegram`)
      await owner.tap(p.getByTestId('managed-create'), 'Создать бота для магазина')
      await owner.tap(p.getByTestId('mock-start'), 'Демо: нажать /start за владельца')
      await owner.tap(p.getByTestId('test-button'), 'Отправить тестовое сообщение')
      await p.getByTestId('test-result').filter({ hasText: 'Демо-режим' }).waitFor({ timeout: 8000 })
      expect((await demo.get(`/shops/${shopId}/telegram/status`)).json).toMatchObject({ managed: true, state: 'active' })
      expect({ pastes: owner.pastes, pageTaps: owner.pageTaps }).toEqual({ pastes: 0, pageTaps: 3 })
    } finally {
      await ctx.close()
      await demo.close()
    }
  }, 60_000)
})

describe('after the first five minutes', () => {
  test('a chat added by id waits for its first message; quiet hours are 24-hour in an English browser and fit the row; the till reads as people call it', async () => {
    const shopId = await h.shop('Ромашка')
    const token = makeToken('AFTER')
    await h.connect(shopId, token, '8400100')
    const key = (await h.post(`/shops/${shopId}/api-keys`, { name: 'Касса 1' })).json
    const order = (await h.post(`/shops/${shopId}/orders`, { number: 'R-1', total: 1500, customerName: 'Анна' }, { authorization: `Bearer ${key.key}` })).json
      .order
    await h.request('PATCH', `/shops/${shopId}/orders/${order.id}`, { status: 'accepted' }, { authorization: `Bearer ${key.key}` })
    // added by id after the order: nothing has been sent there yet
    const added = await h.post(`/shops/${shopId}/telegram/chats`, { chatId: '-1008400101', quietHours: { from: '22:00', to: '08:00' } })
    expect(added.status).toBe(201)

    for (const [name, size] of [
      ['phone', PHONE],
      ['desktop', DESKTOP],
    ] as const) {
      const ctx = await browser.newContext({ ...size, locale: 'en-US', timezoneId: 'Europe/Moscow', bypassCSP: true })
      try {
        const p = await ctx.newPage()
        await p.goto(`${h.base}/shops/${shopId}/growth/telegram`)
        const group = p.locator('[data-testid=recipient]').filter({ hasText: '-100' })
        await group.waitFor({ timeout: 8000 })
        expect(await group.getByTestId('recipient-state').textContent()).toBe('Ждёт первого сообщения')
        // 24-hour, whatever the browser's language; no part of the row is cut off
        const from = group.getByTestId('quiet-from')
        expect(await from.getAttribute('data-value')).toBe('22:00')
        expect(await from.getByTestId('quiet-from-hour').inputValue()).toBe('22')
        expect(await group.getByTestId('quiet-to-hour').inputValue()).toBe('08')
        expect(await p.locator('input[type=time]').count()).toBe(0)
        const clipped = await group
          .locator('.quiet, .time-field, select')
          .evaluateAll((els) => els.filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => el.outerHTML.slice(0, 80)))
        expect(clipped).toEqual([])
        expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(size.viewport!.width)
        // the order list names the till, not its key
        await p.locator('[data-order-number="R-1"]').filter({ hasText: 'Принят (Касса 1)' }).waitFor({ timeout: 8000 })
        expect(await p.content()).not.toContain('API key')
        // no Mini App without an https PUBLIC_URL: nothing about «Заказы» or allowing people
        expect(await p.getByTestId('managers').count()).toBe(0)
        if (name === 'desktop') {
          await group.getByTestId('quiet-to-hour').selectOption('07')
          await eventually(async () => (await h.get(`/shops/${shopId}/telegram/chats`)).json.items[1].quietHours.to === '07:00', { message: 'saved' })
          await group.getByTestId('recipient-test').click()
          await group.getByTestId('recipient-state').filter({ hasText: 'Работает' }).waitFor({ timeout: 8000 })
        }
        await group.scrollIntoViewIfNeeded()
        await group.screenshot({ path: screenshot(`${name}-recipient-waiting-24h.png`) })
        await expectAccessible(p, `dashboard (${name})`)
      } finally {
        await ctx.close()
      }
    }
  }, 60_000)
})

describe('a phone in Telegram’s dark theme (the Mini App, an https PUBLIC_URL)', () => {
  test('the settings: the managers card explains asking and «Разрешить» and shows the request; 24-hour times; axe clean', async () => {
    const t = await createHarness({ listen: true, env: { PUBLIC_URL: 'https://flowers.example' } })
    const token = makeToken('DARK')
    const owner = { id: 8_500_001, first_name: 'Ольга' }
    const ctx = await browser.newContext({ ...PHONE, locale: 'en-US', bypassCSP: true })
    const errors: string[] = []
    try {
      const shopId = await t.shop('Цветы у дома')
      await t.connect(shopId, token, String(owner.id))
      await t.sql`update telegram_chats set type = 'private', title = 'Ольга' where shop_id = ${shopId}`
      // the owner in Telegram is one explicit person (issue 23): the owner link would set it; here it is set directly
      await t.sql`update shops set owner_tg_user_id = ${owner.id} where id = ${shopId}`
      await t.post(`/shops/${shopId}/telegram/chats`, { chatId: '-1008500002', quietHours: { from: '21:30', to: '09:00' } })
      // a florist opened the shop in Telegram and was asked to wait: the owner sees the request
      const florist = { id: 8_500_003, first_name: 'Пётр' }
      expect((await t.post('/session', { shopId, initData: telegramInitData(token, florist) })).status).toBe(403)
      expect((await t.get(`/shops/${shopId}/telegram/status`)).json.miniApp).toBe(true)

      await ctx.addInitScript(telegramWebAppStub(telegramInitData(token, owner)))
      const p = await ctx.newPage()
      p.on('pageerror', (e) => errors.push(String(e)))
      await p.goto(`${t.base}/shops/${shopId}/growth/telegram`)
      await p.getByTestId('open-settings').click()
      const managers = p.getByTestId('managers')
      await managers.getByTestId('access-requests').filter({ hasText: 'Пётр' }).waitFor({ timeout: 8000 })
      const text = (await managers.textContent()) ?? ''
      expect(text).toContain('нажимает «Заказы»')
      expect(text).toContain('кнопка «Разрешить»')
      // the numeric id is the folded fallback, not the main path
      expect(await managers.getByRole('textbox', { name: 'Telegram ID' }).isVisible()).toBe(false)
      const group = p.locator('[data-testid=recipient]').filter({ hasText: '-100' })
      expect(await group.getByTestId('quiet-from').getAttribute('data-value')).toBe('21:30')
      expect(await group.getByTestId('recipient-state').textContent()).toBe('Ждёт первого сообщения')
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
      await p.screenshot({ path: screenshot('telegram-dark-settings-phone.png') })
      await expectAccessible(p, 'Mini App settings, dark')
      await managers.scrollIntoViewIfNeeded()
      await managers.screenshot({ path: screenshot('telegram-dark-managers.png') })
      // «Разрешить» here does what it does in the bot
      await managers.getByRole('button', { name: 'Разрешить' }).click()
      await managers.getByTestId('manager').filter({ hasText: 'Пётр' }).waitFor({ timeout: 8000 })
      expect((await t.post('/session', { shopId, initData: telegramInitData(token, florist) })).status).toBe(201)
    } finally {
      await ctx.close()
      await t.close()
    }
    expect(errors).toEqual([])
  }, 60_000)
})
