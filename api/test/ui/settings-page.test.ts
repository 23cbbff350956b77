/**
 * The settings page in a real browser (Chromium through playwright-core, see ../browser.ts) against the whole
 * service on a real port, with the real grammY client talking to the fake Bot API. Each test drives
 * the page like the owner would and checks the outcome in the DOM, the database and the fake.
 * The tests share one page and run in order: connect → capture → test message → failure → retry.
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { launchChromium } from '../browser'
import { buildUi, UI_ROOT, uiIsStale } from '../../src/platform/ui-build'
import { MockClient } from '../../src/bot-api/mock-client'
import { B, makeToken } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'

const SCREENSHOTS = path.join(UI_ROOT, 'screenshots')
/** Longer than one poll of the page (3 s) plus a request, so "updates by itself" is really tested. */
const LIVE_MS = 8000

const launch = launchChromium

// Several tests open a browser context on a second harness: on a loaded machine more than bun's default 5 s
// (bunfig's `timeout` reaches only the first file of a multi-file run in bun 1.4).
setDefaultTimeout(30_000)

/** A page that fails the test on any uncaught error in the browser. */
async function openPage(ctx: BrowserContext, errors: string[]): Promise<Page> {
  const page = await ctx.newPage()
  page.on('pageerror', (e) => errors.push(String(e)))
  return page
}

const shot = async (page: Page, name: string, fullPage = true) => {
  await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage, animations: 'disabled' })
}

describe('settings page in Chromium', () => {
  let browser: Browser
  let h: Harness
  let ctx: BrowserContext
  let page: Page
  const pageErrors: string[] = []
  const shopId = 1 // the seeded demo shop: its demo orders make the list realistic
  const goodToken = makeToken('UI')
  let url: string

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    const [b] = await Promise.all([launch(), uiIsStale() ? buildUi() : Promise.resolve(0)])
    browser = b
    h = await createHarness({ listen: true })
    url = `${h.base}/shops/${shopId}/growth/telegram`
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU', timezoneId: 'Europe/Moscow' })
    page = await openPage(ctx, pageErrors)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await h?.close()
  })

  test('the page loads for a shop deep link and shows «не подключено»', async () => {
    const res = await page.goto(url)
    expect(res?.status()).toBe(200)
    await page.getByTestId('state-badge').filter({ hasText: 'Не подключено' }).waitFor({ timeout: LIVE_MS })
    await expect(page.title()).resolves.toContain('Telegram')
    // The demo orders came in before Telegram was set up: listed as not sent, with no retry button.
    await page.getByTestId('recent-row').first().waitFor()
    expect(await page.getByTestId('recent-row').count()).toBeGreaterThanOrEqual(3)
    expect(await page.getByTestId('retry-button').count()).toBe(0)
    expect(pageErrors).toEqual([])
  })

  test('a malformed token and a token Telegram refuses are shown next to the field; nothing is stored', async () => {
    // Keyboard only: focus the field, type, Enter submits the form.
    await page.getByTestId('token-input').focus()
    await page.keyboard.type('not-a-token')
    await page.keyboard.press('Enter')
    await page.getByTestId('field-error-botToken').filter({ hasText: 'должен выглядеть как' }).waitFor({ timeout: LIVE_MS })
    expect(await page.getByTestId('save-state').getAttribute('data-state')).toBe('error')

    const refused = makeToken('REFUSED')
    h.fake.behave(refused, B.unauthorized)
    await page.getByTestId('token-input').fill(refused)
    await page.getByTestId('save-button').click()
    await page.getByTestId('save-state').filter({ hasText: 'Telegram не принял токен' }).waitFor({ timeout: LIVE_MS })
    expect(h.fake.callsOf('getMe', refused)).toHaveLength(1)
    // The field shows the API's own reason for that field.
    const api = await h.post(`/shops/${shopId}/telegram/connect`, { botToken: refused, enabled: true })
    expect(api.json.error).toBe('token_rejected')
    const reason = api.json.details.find((d: { path: string }) => d.path === 'botToken').message
    expect(await page.getByTestId('field-error-botToken').textContent()).toBe(reason)
    const [row] = await h.sql`select count(*)::int as n from telegram_integrations where shop_id = ${shopId}`
    expect(row!.n).toBe(0)
    await shot(page, 'desktop-token-refused.png', false)
  })

  test('saving a good token shows the connect link, its QR and the group link; the token is only shown masked', async () => {
    await page.getByTestId('token-input').fill(goodToken)
    await page.getByTestId('save-button').click()
    // the first screen gives way to the next step: open the bot
    await page.getByTestId('connect-link').waitFor({ timeout: LIVE_MS })
    await page.getByTestId('state-badge').filter({ hasText: 'Ждём «Запустить»' }).waitFor({ timeout: LIVE_MS })

    const botUsername = `shop${goodToken.split(':')[0]}_bot`
    const link = await page.getByTestId('connect-link').getAttribute('href')
    expect(link).toMatch(new RegExp(`^https://t\\.me/${botUsername}\\?start=[A-Za-z0-9_-]+$`))
    expect(await page.getByTestId('group-link').getAttribute('href')).toMatch(new RegExp(`^https://t\\.me/${botUsername}\\?startgroup=`))
    const qr = page.getByTestId('qr')
    await qr.waitFor()
    expect((await qr.boundingBox())!.width).toBeGreaterThan(120)
    expect(await qr.locator('path').getAttribute('d')).toMatch(/^M\d+ \d+h1v1h-1z/)

    // The field is emptied; the saved token appears only masked, never whole, anywhere on the page.
    expect(await page.getByTestId('token-input').inputValue()).toBe('')
    expect(await page.getByTestId('token-input').getAttribute('placeholder')).toContain('…')
    expect(await page.content()).not.toContain(goodToken.split(':')[1]!)

    const [row] = await h.sql`select bot_username, chat_id, enabled from telegram_integrations where shop_id = ${shopId}`
    expect(row).toMatchObject({ bot_username: botUsername, chat_id: null, enabled: true })
    expect(h.fake.webhooks.has(goodToken)).toBe(true)

    // «Новая ссылка» issues a different code.
    await page.getByTestId('new-link').click()
    await eventually(async () => (await page.getByTestId('connect-link').getAttribute('href')) !== link, { timeoutMs: LIVE_MS, message: 'a new link' })
    await shot(page, 'desktop-waiting-for-start.png')
  }, 60_000)

  test('a /start through the webhook captures the chat and the page says so without a reload', async () => {
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true))
    const link = (await page.getByTestId('connect-link').getAttribute('href'))!
    const code = new URL(link).searchParams.get('start')!
    const res = await h.fake.deliver(goodToken, {
      update_id: 9001,
      message: {
        message_id: 1,
        date: Math.floor(Date.now() / 1000),
        chat: { id: 555000111, type: 'private', first_name: 'Мария' },
        from: { id: 555000111, is_bot: false, first_name: 'Мария' },
        text: `/start ${code}`,
      },
    })
    expect(res.status).toBe(200)

    await page.getByTestId('banner').filter({ hasText: 'Чат подключён' }).waitFor({ timeout: LIVE_MS })
    await page.getByTestId('state-badge').filter({ hasText: 'Ждёт первого сообщения' }).waitFor({ timeout: LIVE_MS }) // «Работает» once a message got through
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true)
    expect(await page.getByTestId('connect-link').count()).toBe(0)
    const [row] = await h.sql`select chat_id from telegram_integrations where shop_id = ${shopId}`
    expect(row!.chat_id).toBe('555000111')
    await shot(page, 'desktop-chat-connected.png', false)
    await page.getByTestId('banner').getByRole('button', { name: 'Закрыть' }).click()
    expect(await page.getByTestId('banner').count()).toBe(0)
  })

  test('«Отправить тестовое сообщение» reaches Telegram and the page shows the result', async () => {
    const before = h.fake.sent(goodToken).length
    await page.getByTestId('test-button').click()
    await page.getByTestId('test-result').filter({ hasText: 'Тестовое сообщение отправлено' }).waitFor({ timeout: LIVE_MS })
    const sent = h.fake.sent(goodToken).slice(before)
    expect(sent).toHaveLength(1)
    expect(sent[0]!.payload).toMatchObject({ chat_id: '555000111' })
    expect(String(sent[0]!.payload.text)).toContain('Тестовое сообщение')
    await page.getByTestId('state-badge').filter({ hasText: 'Работает' }).waitFor({ timeout: LIVE_MS })
    await shot(page, 'desktop-active.png')
  })

  test('a failed notification shows with its reason; «Повторить» sends it once Telegram accepts', async () => {
    h.fake.behaveMethod(goodToken, 'sendMessage', B.blocked)
    const created = await h.post(`/shops/${shopId}/orders`, { number: 'UI-2001', total: 3150, customerName: 'Елена Васильева' })
    expect(created.status).toBe(201)
    expect(created.json.telegramStatus).toBe('failed')

    const row = page.locator('[data-testid=recent-row][data-order-number="UI-2001"]')
    await row.and(page.locator('[data-status=failed]')).waitFor({ timeout: LIVE_MS })
    expect(await row.textContent()).toContain('Бот заблокирован в Telegram')
    expect(await row.textContent()).toContain('«Разблокировать»')
    await page.getByTestId('state-badge').filter({ hasText: 'Ошибки' }).waitFor({ timeout: LIVE_MS })
    await shot(page, 'desktop-failure.png')

    h.fake.behaveMethod(goodToken, 'sendMessage', B.ok)
    const before = h.fake.sent(goodToken).length
    await row.getByTestId('retry-button').click()
    await row.and(page.locator('[data-status=sent]')).waitFor({ timeout: LIVE_MS })
    expect(await row.getByTestId('retry-button').count()).toBe(0)
    const [log] = await h.sql`select l.status from telegram_send_log l join orders o on o.id = l.order_id where o.shop_id = ${shopId} and o.number = 'UI-2001'`
    expect(log!.status).toBe('SENT')
    const resent = h.fake.sent(goodToken).slice(before)
    expect(resent).toHaveLength(1)
    expect(String(resent[0]!.payload.text)).toContain('UI-2001')
    await page.getByTestId('state-badge').filter({ hasText: 'Работает' }).waitFor({ timeout: LIVE_MS })
  })

  test('an order accepted with «Принять» in Telegram shows as accepted on the page; «Открыть» points at it', async () => {
    h.services.dispatcher.start()
    const created = await h.post(`/shops/${shopId}/orders`, { number: 'UI-2002', total: '1234.50', customerName: 'Ксения' })
    expect(created.json.telegramStatus).toBe('sent')
    const message = h.fake.sent(goodToken).at(-1)!
    const keyboard = (message.payload.reply_markup as { inline_keyboard: { text: string; callback_data?: string; url?: string }[][] }).inline_keyboard.flat()
    const accept = keyboard.find((b) => b.text === 'Принять')!
    const open = keyboard.find((b) => b.text === 'Открыть')!
    const [log] = await h.sql`select message_id, chat_id from telegram_send_log where order_id = ${created.json.order.id}`
    const res = await h.fake.deliver(goodToken, {
      update_id: 9100,
      callback_query: {
        id: 'cb-ui',
        from: { id: 4242, is_bot: false, first_name: 'Ольга' },
        chat_instance: 'ui',
        data: accept.callback_data,
        message: { message_id: Number(log!.message_id), date: 0, chat: { id: Number(log!.chat_id), type: 'private' } },
      },
    })
    expect(res.status).toBe(200)
    const row = page.locator('[data-testid=recent-row][data-order-number="UI-2002"]')
    await row.filter({ hasText: 'Принят (Ольга)' }).waitFor({ timeout: LIVE_MS })
    expect(await row.textContent()).toContain('1\u00a0234,50\u00a0₽')
    await eventually(() => h.fake.callsOf('editMessageText', goodToken).length === 1, { timeoutMs: LIVE_MS, message: 'the Telegram message edited' })

    // «Открыть» opens this page scrolled to the order, marked.
    const p = await openPage(ctx, pageErrors)
    await p.goto(open.url!)
    const linked = p.locator(`#order-${created.json.order.id}`)
    await linked.and(p.locator('.linked')).waitFor({ timeout: LIVE_MS })
    await eventually(async () => linked.isVisible(), { timeoutMs: LIVE_MS, message: 'the linked order in view' })
    await p.close()
    await h.services.dispatcher.stop()
  })

  test('the on/off switch: a status pushed meanwhile does not undo an unsaved click, «Сохранить» stores it, an untouched switch follows the server', async () => {
    const toggle = page.getByTestId('enabled-toggle')
    const chatHelp = page.locator('#chat-id-help')
    const [before] = await h.sql`select chat_title from telegram_integrations where shop_id = ${shopId}`
    expect(await toggle.isChecked()).toBe(true)
    await page.getByText('Присылать уведомления о новых заказах').click()
    expect(await toggle.isChecked()).toBe(false)
    // a change made elsewhere reaches the open page (live) while the click is unsaved
    await h.sql`update telegram_integrations set chat_title = 'Флористы' where shop_id = ${shopId}`
    await chatHelp.filter({ hasText: '«Флористы»' }).waitFor({ state: 'attached', timeout: LIVE_MS })
    expect(await toggle.isChecked()).toBe(false)
    expect(await page.getByTestId('save-state').getAttribute('data-state')).toBe('dirty')

    await page.getByTestId('save-button').click()
    await page.locator('[data-testid=save-state][data-state=saved]').waitFor({ timeout: LIVE_MS })
    const [saved] = await h.sql`select enabled from telegram_integrations where shop_id = ${shopId}`
    expect(saved!.enabled).toBe(false)
    expect(await toggle.isChecked()).toBe(false)

    // untouched since the save: the switch shows what the server says
    await h.sql`update telegram_integrations set enabled = true, chat_title = ${before!.chat_title} where shop_id = ${shopId}`
    await eventually(() => toggle.isChecked(), { timeoutMs: LIVE_MS, message: 'the switch follows the server' })
    await page.getByTestId('state-badge').filter({ hasText: 'Работает' }).waitFor({ timeout: LIVE_MS })
    expect(pageErrors).toEqual([])
  })

  test('at phone width (375×812) nothing overflows sideways and the controls stay usable', async () => {
    const phone = await browser.newContext({
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'ru-RU',
      timezoneId: 'Europe/Moscow',
    })
    try {
      const p = await openPage(phone, pageErrors)
      await p.goto(url)
      await p.getByTestId('state-badge').filter({ hasText: 'Работает' }).waitFor({ timeout: LIVE_MS })
      await p.getByTestId('recent-row').first().waitFor()
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375)
      const save = (await p.getByTestId('save-button').boundingBox())!
      expect(save.x).toBeGreaterThanOrEqual(0)
      expect(save.x + save.width).toBeLessThanOrEqual(375)
      await shot(p, 'phone.png')
      // The connect section at phone width: a fresh link opens Telegram; no QR (nobody scans their own screen).
      await p.getByTestId('new-link').click()
      await p.getByTestId('connect-link').waitFor({ timeout: LIVE_MS })
      expect(await p.getByTestId('qr').isVisible()).toBe(false)
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375)
      await shot(p, 'phone-connect.png')
    } finally {
      await phone.close()
    }
    expect(pageErrors).toEqual([])
  }, 60_000)

  test('in demo mode (TELEGRAM_MODE=mock) the demo button plays the owner’s /start and the chat is captured', async () => {
    const demo = await createHarness({ listen: true, client: new MockClient(), env: { TELEGRAM_MODE: 'mock' } })
    const c = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU' })
    try {
      await demo.connect(1, makeToken('DEMO'))
      const p = await openPage(c, pageErrors)
      await p.goto(`${demo.base}/shops/1/growth/telegram`)
      await p.getByTestId('state-badge').filter({ hasText: 'Ждём «Запустить»' }).waitFor({ timeout: LIVE_MS })
      await p.getByTestId('mock-start').click()
      await p.getByTestId('banner').filter({ hasText: 'Чат подключён' }).waitFor({ timeout: LIVE_MS })
      await p.getByTestId('state-badge').filter({ hasText: 'Ждёт первого сообщения' }).waitFor({ timeout: LIVE_MS })
      const [row] = await demo.sql`select chat_id from telegram_integrations where shop_id = 1`
      expect(row!.chat_id).toBe('100000001')
      await p.getByTestId('test-button').click()
      await p.getByTestId('test-result').filter({ hasText: 'Демо-режим' }).waitFor({ timeout: LIVE_MS })
      await p.getByTestId('state-badge').filter({ hasText: 'Работает' }).waitFor({ timeout: LIVE_MS })
    } finally {
      await c.close()
      await demo.close()
    }
    expect(pageErrors).toEqual([])
  })

  test('an owner opens the platform launch link: the page works, a reload keeps working, nothing secret in localStorage', async () => {
    const secured = await createHarness({
      listen: true,
      env: { ADMIN_TOKEN: 'correct-horse-battery-staple-0123456789', PLATFORM_SECRET: 'platform-secret-'.repeat(3) },
    })
    const c = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU' })
    try {
      const link = await secured.post('/shops/1/owner-link', {}, { authorization: 'Bearer correct-horse-battery-staple-0123456789' })
      expect(link.status).toBe(201)
      const p = await openPage(c, pageErrors)
      await p.goto(link.json.url)
      await p.getByTestId('state-badge').filter({ hasText: 'Не подключено' }).waitFor({ timeout: LIVE_MS })
      expect(await p.getByTestId('token-dialog').count()).toBe(0)
      expect(new URL(p.url()).hash).toBe('') // the single-use token leaves the address bar
      const stored = await p.evaluate(() => JSON.stringify({ ...localStorage }))
      expect(stored).toBe('{}')
      await p.reload()
      await p.getByTestId('state-badge').filter({ hasText: 'Не подключено' }).waitFor({ timeout: LIVE_MS })
      expect(await p.getByTestId('token-dialog').count()).toBe(0)

      // The session ends (12 h passed, or revoked): the owner is told what to do.
      await secured.sql`update owner_sessions set expires_at = now() - interval '1 second'`
      await p.reload()
      const dialog = p.getByTestId('token-dialog')
      // first the dialog (a full-suite run once took over 8 s to show it), then what it says
      await dialog.waitFor({ timeout: 20_000 })
      expect(await dialog.getAttribute('data-reason')).toBe('expired')
      await dialog.filter({ hasText: 'Откройте страницу из Posiflora ещё раз' }).waitFor({ timeout: LIVE_MS })
      await shot(p, 'desktop-session-expired.png', false)

      // The same launch link a second time (single use): said plainly, nothing opened.
      const again = await openPage(c, pageErrors)
      await again.goto(link.json.url)
      await again.getByTestId('token-dialog').filter({ hasText: 'Ссылка больше не действует' }).waitFor({ timeout: LIVE_MS })
    } finally {
      await c.close()
      await secured.close()
    }
    expect(pageErrors).toEqual([])
  }, 60_000)

  test('an operator can type ADMIN_TOKEN: a wrong one is said, the right one works and is kept in memory only', async () => {
    const secured = await createHarness({ listen: true, env: { ADMIN_TOKEN: 'correct-horse-battery-staple-0123456789' } })
    const c = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU' })
    try {
      const p = await openPage(c, pageErrors)
      await p.goto(`${secured.base}/shops/1/growth/telegram`)
      const dialog = p.getByTestId('token-dialog')
      await dialog.filter({ hasText: 'Откройте эту страницу из Posiflora' }).waitFor({ timeout: LIVE_MS })
      await shot(p, 'desktop-token-dialog.png', false)
      await p.getByTestId('token-dialog-operator').click()
      await expect(p.getByTestId('token-dialog-input').evaluate((el) => el === document.activeElement)).resolves.toBe(true)
      await p.getByTestId('token-dialog-input').fill('wrong-token')
      await p.getByTestId('token-dialog-submit').click()
      await dialog.filter({ hasText: 'Ключ не подошёл' }).waitFor({ timeout: LIVE_MS })
      await p.getByTestId('token-dialog-input').fill('correct-horse-battery-staple-0123456789')
      await p.keyboard.press('Enter')
      await p.getByTestId('state-badge').filter({ hasText: 'Не подключено' }).waitFor({ timeout: LIVE_MS })
      expect(await dialog.count()).toBe(0)
      expect(await p.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }))).toBe('{}')
      // In memory only: a reload asks again.
      await p.reload()
      await dialog.waitFor({ timeout: LIVE_MS })
    } finally {
      await c.close()
      await secured.close()
    }
    expect(pageErrors).toEqual([])
  })

  test('the Content-Security-Policy blocks an injected inline script', async () => {
    const c = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU' })
    try {
      const p = await openPage(c, pageErrors)
      await p.goto(`${h.base}/shops/1/growth/telegram`)
      await p.getByTestId('state-badge').waitFor({ timeout: LIVE_MS })
      const outcome = await p.evaluate(
        () =>
          new Promise<{ ran: boolean; violated: string | null }>((resolve) => {
            let violated: string | null = null
            document.addEventListener('securitypolicyviolation', (e) => (violated = e.violatedDirective))
            const el = document.createElement('script')
            el.textContent = 'window.__injected = true'
            document.body.appendChild(el)
            setTimeout(() => resolve({ ran: (window as unknown as { __injected?: boolean }).__injected === true, violated }), 200)
          }),
      )
      expect(outcome.ran).toBe(false)
      expect(outcome.violated).toMatch(/^script-src/)
    } finally {
      await c.close()
    }
  })
})
