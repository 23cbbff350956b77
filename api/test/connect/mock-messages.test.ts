import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { MockClient } from '../../src/bot-api/mock-client'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../src/platform/log'
import { createHarness, eventually, expectNoSecrets, type Harness } from '../helpers'

/** Real HTTP and a real database on a shared 2-core machine: 5 s is too short under load. */
setDefaultTimeout(30_000)

/** A bot token as BotFather issues them; in mock mode any well-formed token "exists". */
const TOKEN = '7012345678:AAF-mock-secret-part-0123456789abcdefXYZ'

describe('mock mode: what would have gone out is readable', () => {
  let h: Harness
  const clientLogs: string[] = []
  beforeAll(async () => {
    const client = new MockClient(createLogger('debug', (l) => clientLogs.push(l)))
    h = await createHarness({ client, env: { TELEGRAM_MODE: 'mock' } })
  }, 30_000)
  afterAll(() => h.close(), 30_000)

  test('status says mode "mock"; the demo /start binds a chat; an order’s message shows at mock-messages with its buttons, newest first', async () => {
    const shop = await h.shop('Цветы у дома')
    expect((await h.request('POST', `/shops/${shop}/telegram/connect`, { botToken: TOKEN, enabled: true })).status).toBe(200)
    expect((await h.get(`/shops/${shop}/telegram/status`)).json.mode).toBe('mock')

    const start = await h.post(`/shops/${shop}/telegram/mock/start`, {})
    expect(start.status).toBe(200)
    expect(start.json.status.state).toBe('active')

    const order = await h.post(`/shops/${shop}/orders`, { number: 'M-77', total: 1990, customerName: 'Анна' })
    expect(order.status).toBe(201)
    expect(order.json.telegramStatus).toBe('sent')

    const r = await h.get(`/shops/${shop}/telegram/mock-messages`)
    expect(r.status).toBe(200)
    expect(r.json.mode).toBe('mock')
    const sends = r.json.items.filter((m: { method: string }) => m.method === 'sendMessage')
    // newest first: the order's message, then the greeting of /start
    expect(sends[0].text).toContain('M-77')
    expect(sends[0].buttons.flat().map((b: { text: string }) => b.text)).toContain('Принять')
    expect(sends.at(-1).text).toContain('Цветы у дома')
    const times = r.json.items.map((m: { at: string }) => Date.parse(m.at))
    expect(times).toEqual([...times].sort((a, b) => b - a))
    expect((await h.get(`/shops/${shop}/telegram/mock-messages?limit=1`)).json.items.length).toBe(1)
    expect((await h.get(`/shops/${shop}/telegram/mock-messages?limit=0`)).status).toBe(400)
  })

  test('each mock send is one log line with the text, the chat and the buttons, and never the token', async () => {
    const line = await eventually(() => clientLogs.find((l) => l.includes('"telegram_mock_send"') && l.includes('M-77')), { message: 'mock send log line' })
    const entry = JSON.parse(line)
    expect(entry.botId).toBe(7012345678)
    expect(entry.buttons).toContain('Принять')
    expect(typeof entry.chatId).toBe('string')
    expectNoSecrets([...clientLogs, ...h.logs, ...h.responses], [TOKEN])
  })

  test('another shop’s bot and a shop with no bot see none of these messages', async () => {
    const other = await h.shop('Другой магазин')
    expect((await h.get(`/shops/${other}/telegram/mock-messages`)).json.items).toEqual([])
    await h.request('POST', `/shops/${other}/telegram/connect`, { botToken: '7099999999:AAF-another-secret-0123456789abcdefXYZ', enabled: true })
    expect((await h.get(`/shops/${other}/telegram/mock-messages`)).json.items).toEqual([])
    expect((await h.get('/shops/999999/telegram/mock-messages')).status).toBe(404)
  })

  test('the demo /start works with no body at all, as a plain curl -X POST sends it', async () => {
    const shop = await h.shop('Без тела')
    await h.request('POST', `/shops/${shop}/telegram/connect`, { botToken: '7011111111:AAF-third-secret-part-0123456789abcdXYZ', enabled: true })
    const r = await h.request('POST', `/shops/${shop}/telegram/mock/start`)
    expect(r.status).toBe(200)
    expect(r.json.status.state).toBe('active')
  })
})

describe('real mode', () => {
  test('mock-messages is 409 not_mock_mode: real messages are in Telegram', async () => {
    const h = await createHarness()
    try {
      const r = await h.get('/shops/1/telegram/mock-messages')
      expect(r.status).toBe(409)
      expect(r.json.error).toBe('not_mock_mode')
      expect((await h.get('/shops/1/telegram/status')).json.mode).toBe('real')
    } finally {
      await h.close()
    }
  }, 30_000)
})

describe('production posture of the configuration', () => {
  const prod = { NODE_ENV: 'production', ADMIN_TOKEN: 'a'.repeat(32), ENCRYPTION_KEY: 'ab'.repeat(32) }
  test('NODE_ENV=production: TELEGRAM_MODE defaults to real and the demo seed is off; development: mock and seeded', () => {
    expect(loadConfig(prod)).toMatchObject({ TELEGRAM_MODE: 'real', seedDemo: false })
    expect(loadConfig({})).toMatchObject({ TELEGRAM_MODE: 'mock', seedDemo: true })
  })
  test('both can be set explicitly either way', () => {
    expect(loadConfig({ ...prod, TELEGRAM_MODE: 'mock', SEED_DEMO: '1' })).toMatchObject({ TELEGRAM_MODE: 'mock', seedDemo: true })
    expect(loadConfig({ TELEGRAM_MODE: 'real', SEED_DEMO: '0' })).toMatchObject({ TELEGRAM_MODE: 'real', seedDemo: false })
    expect(() => loadConfig({ SEED_DEMO: 'yes please' })).toThrow(/^Invalid configuration: SEED_DEMO /)
  })
})
