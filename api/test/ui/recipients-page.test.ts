import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { buildUi, UI_ROOT, uiIsStale } from '../../src/platform/ui-build'
import { launchChromium } from '../browser'
import { B, makeToken } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'

/** The recipients on the settings page: three chats, their events and quiet hours, one failing. */
describe('recipients on the settings page', () => {
  let browser: Browser
  let h: Harness
  let shopId: number
  const token = makeToken()

  beforeAll(async () => {
    if (uiIsStale()) await buildUi()
    browser = await launchChromium()
    h = await createHarness({ listen: true })
    h.services.start()
    shopId = await h.shop('Цветы у дома')
    await h.connect(shopId, token, '8100001')
    await h.sql`update telegram_chats set title = 'Ольга (владелец)', type = 'private' where shop_id = ${shopId}`
    const florists = await h.post(`/shops/${shopId}/telegram/chats`, {
      chatId: '-1008100002',
      threadId: 3,
      events: ['order_created', 'order_cancelled', 'daily_summary'],
    })
    await h.sql`update telegram_chats set title = 'Флористы', type = 'supergroup' where id = ${florists.json.id}`
    const courier = await h.post(`/shops/${shopId}/telegram/chats`, { chatId: '8100003', events: ['order_status'], quietHours: { from: '22:00', to: '08:00' } })
    await h.sql`update telegram_chats set title = 'Курьер Павел', type = 'private' where id = ${courier.json.id}`
    h.fake.behaveChat(token, '-1008100002', B.kicked)
    await h.post(`/shops/${shopId}/orders`, { number: 'UI-1', total: 4100, customerName: 'Анна' })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await h?.close()
  })

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 900 }],
    ['phone', { width: 375, height: 812 }],
  ] as const) {
    test(`${name}: three recipients with their state, events and quiet hours; a change is saved at once`, async () => {
      const ctx = await browser.newContext({ viewport, locale: 'ru-RU', ...(name === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) })
      const errors: string[] = []
      try {
        const p = await ctx.newPage()
        p.on('pageerror', (e) => errors.push(String(e)))
        await p.goto(`${h.base}/shops/${shopId}/growth/telegram`)
        const rows = p.getByTestId('recipient')
        await eventually(async () => (await rows.count()) === 3, { message: 'three recipients', timeoutMs: 8000 })
        await p.locator('[data-testid=recipient][data-state=failing]').waitFor({ timeout: 8000 })
        const failing = p.locator('[data-testid=recipient][data-state=failing]')
        expect(await failing.textContent()).toContain('Бота удалили из группы')
        expect(await rows.nth(1).textContent()).toContain('тема №3')
        expect(await rows.nth(2).getByTestId('quiet-toggle').isChecked()).toBe(true)
        expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width)
        await p.getByTestId('recipients').scrollIntoViewIfNeeded()
        await p.getByTestId('recipients').screenshot({ path: path.join(UI_ROOT, 'screenshots', `${name}-recipients.png`) })
        if (name === 'desktop') {
          // the courier also wants new orders: one click, saved at once
          await rows.nth(2).getByTestId('event-order_created').check()
          await eventually(
            async () => {
              const items = (await h.get(`/shops/${shopId}/telegram/chats`)).json.items
              return items[2].events.includes('order_created')
            },
            { message: 'event saved' },
          )
        }
      } finally {
        await ctx.close()
      }
      expect(errors).toEqual([])
    })
  }
})
