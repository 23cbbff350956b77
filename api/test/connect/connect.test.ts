import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B } from '../fake-telegram'
import { createHarnessPair, type Harness, type HarnessPair } from '../helpers'
import { integration } from './fixtures'

/** Connecting a bot: what is refused (and stores nothing), what the answer shows, how the token is kept. */
let pair: HarnessPair
let hw: Harness
beforeAll(async () => ({ hw } = pair = await createHarnessPair()))
afterAll(() => pair.close())

describe('connect', () => {
  test('a malformed token is refused before Telegram is asked, nothing stored', async () => {
    const shopId = await hw.shop()
    for (const botToken of ['abc', '123:short', '12345678:' + 'x'.repeat(30) + ' space', '']) {
      const r = await hw.post(`/shops/${shopId}/telegram/connect`, { botToken, enabled: true })
      expect(r.status).toBe(422)
      expect(r.json.error).toBe('validation_failed')
      expect(r.json.details.some((d: { path: string }) => d.path === 'botToken')).toBe(true)
    }
    expect(await integration(hw, shopId)).toBeUndefined()
    expect(hw.fake.callsOf('getMe').filter((c) => !c.token.includes(':AA')).length).toBe(0)
  })

  test('a token Telegram refuses is 422 token_rejected, nothing stored', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    hw.fake.behave(token, B.unauthorized)
    const r = await hw.post(`/shops/${shopId}/telegram/connect`, { botToken: token, enabled: true })
    expect(r.status).toBe(422)
    expect(r.json.error).toBe('token_rejected')
    expect(r.json.message).toContain('@BotFather')
    expect(await integration(hw, shopId)).toBeUndefined()
  })

  test('Telegram unreachable during connect is 503 saying so, nothing stored', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    hw.fake.behave(token, B.e500)
    const r = await hw.post(`/shops/${shopId}/telegram/connect`, { botToken: token, enabled: true })
    expect(r.status).toBe(503)
    expect(r.json.error).toBe('telegram_unavailable')
    expect(r.json.message).toContain('Telegram')
    expect(await integration(hw, shopId)).toBeUndefined()
  })

  test('connect answers with the masked token, bot username and a connect link', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    const r = await hw.post(`/shops/${shopId}/telegram/connect`, { botToken: token, enabled: true })
    expect(r.status).toBe(200)
    const botId = token.split(':')[0]
    expect(r.json).toMatchObject({ shopId, botUsername: `shop${botId}_bot`, chatId: null, enabled: true })
    expect(r.json.botToken).toMatch(new RegExp(`^${botId}:AA…[A-Za-z0-9_-]{3}$`))
    expect(r.text.includes(token.split(':')[1]!)).toBe(false)
    expect(r.json.connectLink).toMatch(new RegExp(`^https://t\\.me/shop${botId}_bot\\?start=[A-Za-z0-9_-]{1,64}$`))
    expect(r.json.connectGroupLink).toMatch(new RegExp(`^https://t\\.me/shop${botId}_bot\\?startgroup=[A-Za-z0-9_-]{1,64}$`))
  })

  test('the token is stored encrypted, not as plain text', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    await hw.connect(shopId, token, '12345')
    const row = await integration(hw, shopId)
    expect(row!.bot_token).toStartWith('v2:')
    expect(row!.bot_token.includes(token.split(':')[1]!)).toBe(false)
    const dump = await hw.sql`select t::text as t from telegram_integrations t where shop_id = ${shopId}`
    expect(dump[0]!.t.includes(token.split(':')[1]!)).toBe(false)
  })

  test('upsert keeps one row per shop, bumps updated_at and keeps created_at', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    const first = await hw.connect(shopId, token, '111')
    await Bun.sleep(5)
    const second = await hw.connect(shopId, token, '222', false)
    expect(second.createdAt).toBe(first.createdAt)
    expect(Date.parse(second.updatedAt)).toBeGreaterThan(Date.parse(first.updatedAt))
    const rows = await hw.sql`select chat_id, enabled from telegram_integrations where shop_id = ${shopId}`
    expect([...rows]).toEqual([{ chat_id: '222', enabled: false }])
  })

  test('the token may be omitted on later connects; the stored one is kept', async () => {
    const shopId = await hw.shop()
    const noToken = await hw.post(`/shops/${shopId}/telegram/connect`, { chatId: '5', enabled: true })
    expect(noToken.status).toBe(422)
    expect(noToken.json.error).toBe('token_required')
    const token = pair.newToken()
    await hw.connect(shopId, token)
    const before = await integration(hw, shopId)
    const r = await hw.post(`/shops/${shopId}/telegram/connect`, { chatId: '-1001234567890123', enabled: true })
    expect(r.status).toBe(200)
    expect(r.json.chatId).toBe('-100…0123')
    const after = await integration(hw, shopId)
    expect(after!.bot_token).toBe(before!.bot_token)
    expect(after!.chat_id).toBe('-1001234567890123') // ~52-bit ids survive exactly
    const order = await hw.post(`/shops/${shopId}/orders`, { number: 'K-1', total: 1, customerName: 'Ким' })
    expect(order.json.telegramStatus).toBe('sent')
    expect(hw.fake.sent(token).at(-1)!.payload.chat_id).toBe('-1001234567890123')
  })

  test('bad chat ids and a non-boolean enabled are 422 and change nothing', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    await hw.connect(shopId, token, '42')
    const cases = [{ chatId: 'abc', enabled: true }, { chatId: 12345678901234567890, enabled: true }, { chatId: '42', enabled: 'yes' }, { chatId: '42' }]
    for (const body of cases) {
      const r = await hw.post(`/shops/${shopId}/telegram/connect`, body)
      expect(r.status).toBe(422)
    }
    expect((await integration(hw, shopId))!.chat_id).toBe('42')
  })

  test('an unknown shop is 404, a malformed id 400', async () => {
    const token = pair.newToken()
    expect((await hw.post('/shops/99999/telegram/connect', { botToken: token, enabled: true })).status).toBe(404)
    expect((await hw.post('/shops/abc/telegram/connect', { botToken: token, enabled: true })).status).toBe(400)
    expect((await hw.get('/shops/0/telegram/status')).status).toBe(400)
    expect((await hw.get('/shops/99999/telegram/status')).status).toBe(404)
  })
})
