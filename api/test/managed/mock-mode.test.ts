import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { MockClient } from '../../src/bot-api'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'

/**
 * TELEGRAM_MODE=mock: the same managed flow without a network, Telegram's part played by
 * `POST …/telegram/mock/managed-bot` (and the owner's tap on the new bot by `…/mock/start`), so the
 * page can show it in a demo.
 */
const client = new MockClient()
let h: Harness

// the whole flow runs several Bot API round trips; a loaded CI machine needs more than the default 5 s
setDefaultTimeout(30_000)

beforeAll(async () => {
  h = await createHarness({ client, env: { TELEGRAM_MODE: 'mock', MANAGER_BOT_TOKEN: makeToken('mockManager') } })
}, 60_000)
afterAll(() => h.close(), 60_000)

describe('managed bots in mock mode', () => {
  test('link → simulated creation → simulated /start on the new bot → an order is sent', async () => {
    const shopId = await h.shop('Мята')
    expect((await h.post(`/shops/${shopId}/telegram/mock/managed-bot`)).json.error).toBe('no_managed_link')
    const link = await h.post(`/shops/${shopId}/telegram/managed-link`)
    expect(link.status).toBe(201)
    expect(link.json.url).toMatch(/^https:\/\/t\.me\/mock_\d+_bot\?start=[A-Za-z0-9_-]{16,64}$/)
    expect(Date.parse(link.json.expiresAt) - Date.now()).toBeGreaterThan(29 * 60_000)

    const created = await h.post(`/shops/${shopId}/telegram/mock/managed-bot`)
    expect(created.status, created.text).toBe(200)
    expect(created.json).toMatchObject({
      start: 'handled',
      created: 'handled',
      status: { managed: true, canCreateBot: true, state: 'waiting_chat', mode: 'mock' },
    })
    expect(created.json.status.connectLink).toStartWith(`https://t.me/${created.json.status.botUsername}?start=`)
    const profile = client.records.filter((r) => ['setMyName', 'setMyDescription', 'setMyShortDescription'].includes(r.method))
    expect(profile.map((r) => r.text)).toEqual(expect.arrayContaining(['Мята', 'Заказы магазина «Мята» в Telegram']))
    // the link is spent: a second simulation has nothing to play
    expect((await h.post(`/shops/${shopId}/telegram/mock/managed-bot`)).json.error).toBe('no_managed_link')

    const bound = await h.post(`/shops/${shopId}/telegram/mock/start`, { chatType: 'private' })
    expect(bound.json.status.state).toBe('active')
    await h.services.updates.settle()
    expect(client.records.some((r) => r.method === 'sendMessage' && r.text?.includes('группу флористов'))).toBe(true)
    const order = await h.post(`/shops/${shopId}/orders`, { number: 'MK-1', total: 100, customerName: 'Анна' })
    expect(order.json.telegramStatus).toBe('sent')

    const rotated = await h.post(`/shops/${shopId}/telegram/rotate-token`)
    expect(rotated.status).toBe(200)
    const again = await h.post(`/shops/${shopId}/orders`, { number: 'MK-2', total: 100, customerName: 'Анна' })
    expect(again.json.telegramStatus).toBe('sent')
  })
})
