import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B, makeToken } from './fake-telegram'
import { createHarness, eventually, expectNoSecrets, type Harness } from './helpers'

/**
 * Connect, status, test message and onboarding by /start. `hw` listens on a real port with
 * PUBLIC_URL set (webhooks are delivered to it by the fake Bot API); `hp` has no PUBLIC_URL and
 * captures the chat by polling getUpdates.
 */
let hw: Harness
let hp: Harness
const tokens: string[] = []
const newToken = () => {
  const t = makeToken()
  tokens.push(t)
  return t
}
const integration = (h: Harness, shopId: number) => h.sql`select * from telegram_integrations where shop_id = ${shopId}`.then((r) => r[0])
const startCode = (link: string) => new URL(link).searchParams.get('start') ?? new URL(link).searchParams.get('startgroup')
let updateId = 5000
const startUpdate = (text: string, chat: Record<string, unknown>) => ({
  update_id: ++updateId,
  message: { message_id: updateId, date: Math.floor(Date.now() / 1000), chat, from: { id: 31337, is_bot: false, first_name: 'Ольга' }, text },
})

beforeAll(async () => {
  hw = await createHarness({ listen: true })
  hp = await createHarness({ fake: hw.fake })
})
afterAll(async () => {
  expectNoSecrets([...hw.responses, ...hw.logs, ...hp.responses, ...hp.logs], tokens)
  await hp.close()
  await hw.close()
})

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
    const token = newToken()
    hw.fake.behave(token, B.unauthorized)
    const r = await hw.post(`/shops/${shopId}/telegram/connect`, { botToken: token, enabled: true })
    expect(r.status).toBe(422)
    expect(r.json.error).toBe('token_rejected')
    expect(r.json.message).toContain('@BotFather')
    expect(await integration(hw, shopId)).toBeUndefined()
  })

  test('Telegram unreachable during connect is 503 saying so, nothing stored', async () => {
    const shopId = await hw.shop()
    const token = newToken()
    hw.fake.behave(token, B.e500)
    const r = await hw.post(`/shops/${shopId}/telegram/connect`, { botToken: token, enabled: true })
    expect(r.status).toBe(503)
    expect(r.json.error).toBe('telegram_unavailable')
    expect(r.json.message).toContain('Telegram')
    expect(await integration(hw, shopId)).toBeUndefined()
  })

  test('connect answers with the masked token, bot username and a connect link', async () => {
    const shopId = await hw.shop()
    const token = newToken()
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
    const token = newToken()
    await hw.connect(shopId, token, '12345')
    const row = await integration(hw, shopId)
    expect(row!.bot_token).toStartWith('v1:')
    expect(row!.bot_token.includes(token.split(':')[1]!)).toBe(false)
    const dump = await hw.sql`select t::text as t from telegram_integrations t where shop_id = ${shopId}`
    expect(dump[0]!.t.includes(token.split(':')[1]!)).toBe(false)
  })

  test('upsert keeps one row per shop, bumps updated_at and keeps created_at', async () => {
    const shopId = await hw.shop()
    const token = newToken()
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
    const token = newToken()
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
    const token = newToken()
    await hw.connect(shopId, token, '42')
    const cases = [
      { chatId: 'abc', enabled: true },
      { chatId: 12345678901234567890, enabled: true },
      { chatId: '42', enabled: 'yes' },
      { chatId: '42' },
    ]
    for (const body of cases) {
      const r = await hw.post(`/shops/${shopId}/telegram/connect`, body)
      expect(r.status).toBe(422)
    }
    expect((await integration(hw, shopId))!.chat_id).toBe('42')
  })

  test('an unknown shop is 404, a malformed id 400', async () => {
    const token = newToken()
    expect((await hw.post('/shops/99999/telegram/connect', { botToken: token, enabled: true })).status).toBe(404)
    expect((await hw.post('/shops/abc/telegram/connect', { botToken: token, enabled: true })).status).toBe(400)
    expect((await hw.get('/shops/0/telegram/status')).status).toBe(400)
    expect((await hw.get('/shops/99999/telegram/status')).status).toBe(404)
  })
})

describe('status', () => {
  test('a shop with no integration: not connected, disabled, zero counts', async () => {
    const shopId = await hw.shop()
    const r = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ state: 'not_connected', enabled: false, chatId: null, botUsername: null, lastSentAt: null, sentCount: 0, failedCount: 0, connectLink: null })
  })

  test('counts cover the last 7 days only; the chat id is masked', async () => {
    const shopId = await hw.shop()
    const token = newToken()
    await hw.connect(shopId, token, '987654321')
    for (let i = 0; i < 3; i++) await hw.post(`/shops/${shopId}/orders`, { number: `W-${i}`, total: 100, customerName: 'Вера' })
    hw.fake.behaveMethod(token, 'sendMessage', B.blocked)
    await hw.post(`/shops/${shopId}/orders`, { number: 'W-f', total: 100, customerName: 'Вера' })
    hw.fake.behaveMethod(token, 'sendMessage', B.ok)
    // Two rows from 8 days ago (one SENT, one FAILED) must not count.
    await hw.sql`
      with o as (insert into orders (shop_id, number, total, customer_name) values (${shopId}, 'OLD-1', 1, 'x'), (${shopId}, 'OLD-2', 1, 'x') returning id, number)
      insert into telegram_send_log (shop_id, order_id, message, status, sent_at, updated_at)
      select ${shopId}, id, 'old', case when number = 'OLD-1' then 'SENT' else 'FAILED' end, now() - interval '8 days', now() - interval '8 days' from o`
    const r = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(r.json.sentCount).toBe(3)
    expect(r.json.failedCount).toBe(1)
    expect(r.json.chatId).toBe('98…4321')
    expect(r.text.includes('987654321')).toBe(false)
    expect(r.json.state).toBe('failing')
    expect(r.json.lastError).toContain('Разблокировать')
    expect(Date.now() - Date.parse(r.json.lastSentAt)).toBeLessThan(60_000)
    // A later success clears the failing state; the count of the week keeps the failure.
    await hw.post(`/shops/${shopId}/orders`, { number: 'W-ok', total: 100, customerName: 'Вера' })
    const after = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(after.json).toMatchObject({ state: 'active', sentCount: 4, failedCount: 1, lastError: null, lastErrorCode: null })
  })

  test('a disabled integration is paused', async () => {
    const shopId = await hw.shop()
    await hw.connect(shopId, newToken(), '1', false)
    expect((await hw.get(`/shops/${shopId}/telegram/status`)).json.state).toBe('paused')
  })
})

describe('test message', () => {
  test('sends to the bound chat and answers the outcome', async () => {
    const shopId = await hw.shop('Лавка «Тест»')
    const token = newToken()
    await hw.connect(shopId, token, '3030')
    const ok = await hw.post(`/shops/${shopId}/telegram/test`)
    expect(ok.json).toEqual({ sent: true, error: null, mock: false })
    const call = hw.fake.sent(token).at(-1)!
    expect(call.payload.chat_id).toBe('3030')
    expect(String(call.payload.text)).toContain('Лавка «Тест»')
    hw.fake.behaveMethod(token, 'sendMessage', B.blocked)
    const refused = await hw.post(`/shops/${shopId}/telegram/test`)
    expect(refused.status).toBe(200)
    expect(refused.json.sent).toBe(false)
    expect(refused.json.error).toContain('заблокирован')
  })

  test('without a bound chat it is 409 and sends nothing', async () => {
    const shopId = await hw.shop()
    const token = newToken()
    await hw.connect(shopId, token)
    const r = await hw.post(`/shops/${shopId}/telegram/test`)
    expect(r.status).toBe(409)
    expect(r.json.error).toBe('chat_not_bound')
    expect(hw.fake.sent(token).length).toBe(0)
  })
})

describe('onboarding by webhook', () => {
  test('connect sets a webhook under PUBLIC_URL with a secret and explicit allowed_updates, never the token', async () => {
    const shopId = await hw.shop()
    const token = newToken()
    await hw.connect(shopId, token)
    const call = hw.fake.callsOf('setWebhook', token).at(-1)!
    expect(String(call.payload.url)).toStartWith(`${hw.base}/telegram/webhook/`)
    expect(String(call.payload.url).includes(token.split(':')[1]!)).toBe(false)
    expect(String(call.payload.url).includes(token.split(':')[0]!)).toBe(false)
    expect(String(call.payload.secret_token)).toMatch(/^[A-Za-z0-9_-]{16,256}$/)
    expect(call.payload.allowed_updates).toEqual(['message', 'my_chat_member', 'callback_query'])
    const row = await integration(hw, shopId)
    expect(row!.webhook_secret_hash).not.toBe(call.payload.secret_token) // only a hash is stored
  })

  test('a wrong or missing secret token is 401 and binds nothing', async () => {
    const shopId = await hw.shop()
    const token = newToken()
    const c = await hw.connect(shopId, token)
    const update = startUpdate(`/start ${startCode(c.connectLink)}`, { id: 1111, type: 'private', first_name: 'Ольга' })
    const wrong = await hw.fake.deliver(token, update, 'not-the-secret')
    expect(wrong.status).toBe(401)
    const hook = hw.fake.webhooks.get(token)!
    const missing = await fetch(hook.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(update) })
    expect(missing.status).toBe(401)
    const unknown = await fetch(`${hw.base}/telegram/webhook/nonexistent-hook-id`, { method: 'POST', headers: { 'x-telegram-bot-api-secret-token': hook.secret, 'content-type': 'application/json' }, body: '{}' })
    expect(unknown.status).toBe(401)
    expect((await integration(hw, shopId))!.chat_id).toBeNull()
  })

  test('/start <code> in a private chat binds it once, the bot confirms, redelivery is ignored', async () => {
    const shopId = await hw.shop('Ромашка')
    const token = newToken()
    const c = await hw.connect(shopId, token)
    const update = startUpdate(`/start ${startCode(c.connectLink)}`, { id: 424242, type: 'private', first_name: 'Ольга' })
    const started = Date.now()
    const res = await hw.fake.deliver(token, update)
    expect(res.status).toBe(200)
    expect(Date.now() - started).toBeLessThan(1000)
    const again = await hw.fake.deliver(token, update)
    expect(await again.json()).toEqual({ ok: true, result: 'duplicate' })
    const row = await integration(hw, shopId)
    expect(row).toMatchObject({ chat_id: '424242', chat_type: 'private', chat_title: 'Ольга', start_code: null })
    await hw.services.onboarding.settle()
    const replies = hw.fake.sent(token)
    expect(replies.length).toBe(1)
    expect(replies[0]!.payload.chat_id).toBe('424242')
    expect(String(replies[0]!.payload.text)).toContain('Ромашка')
    const s = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(s.json).toMatchObject({ state: 'active', chatId: '42…4242', chatTitle: 'Ольга', connectLink: null })
  })

  test('/start@bot <code> in a group binds the group', async () => {
    const shopId = await hw.shop()
    const token = newToken()
    const c = await hw.connect(shopId, token)
    const res = await hw.fake.deliver(token, startUpdate(`/start@${c.botUsername} ${startCode(c.connectGroupLink)}`, { id: -1009876543210987, type: 'supergroup', title: 'Флористы' }))
    expect(res.status).toBe(200)
    expect(await integration(hw, shopId)).toMatchObject({ chat_id: '-1009876543210987', chat_type: 'supergroup', chat_title: 'Флористы' })
  })

  test('a stale, spent or wrong code gets a polite answer and binds nothing', async () => {
    const shopId = await hw.shop()
    const token = newToken()
    const c = await hw.connect(shopId, token)
    const code = startCode(c.connectLink)!
    await hw.sql`update telegram_integrations set start_code_expires_at = now() - interval '1 minute' where shop_id = ${shopId}`
    await hw.fake.deliver(token, startUpdate(`/start ${code}`, { id: 555, type: 'private' }))
    await hw.fake.deliver(token, startUpdate('/start WRONGCODE', { id: 556, type: 'private' }))
    await hw.services.onboarding.settle()
    expect((await integration(hw, shopId))!.chat_id).toBeNull()
    const replies = hw.fake.sent(token).map((c) => String(c.payload.text))
    expect(replies.length).toBe(2)
    for (const r of replies) expect(r).toContain('устарела или уже использована')
    // A fresh link works again.
    const fresh = await hw.post(`/shops/${shopId}/telegram/link`)
    await hw.fake.deliver(token, startUpdate(`/start ${startCode(fresh.json.connectLink)}`, { id: 557, type: 'private' }))
    expect((await integration(hw, shopId))!.chat_id).toBe('557')
  })

  test('/help is answered in Russian, other chatter and malformed updates are ignored with 200', async () => {
    const shopId = await hw.shop()
    const token = newToken()
    await hw.connect(shopId, token)
    expect((await hw.fake.deliver(token, startUpdate('/help', { id: 77, type: 'private' }))).status).toBe(200)
    expect((await hw.fake.deliver(token, startUpdate('привет', { id: 77, type: 'private' }))).status).toBe(200)
    for (const junk of [{}, { update_id: 'x' }, { update_id: 1, message: 'not an object' }, [1, 2]]) {
      const res = await hw.fake.deliver(token, junk as Record<string, unknown>)
      expect(res.status).toBe(200)
    }
    const hook = hw.fake.webhooks.get(token)!
    const notJson = await fetch(hook.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': hook.secret }, body: '{oops' })
    expect(notJson.status).toBeLessThan(500)
    await hw.services.onboarding.settle()
    const replies = hw.fake.sent(token)
    expect(replies.length).toBe(1)
    expect(String(replies[0]!.payload.text)).toContain('уведомления о новых заказах')
  })

  test('the bot removed from the chat shows on the status', async () => {
    const shopId = await hw.shop()
    const token = newToken()
    await hw.connect(shopId, token, '-4242')
    await hw.fake.deliver(token, { update_id: ++updateId, my_chat_member: { chat: { id: -4242, type: 'group', title: 'G' }, from: { id: 1 }, new_chat_member: { status: 'kicked' } } })
    const s = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(s.json).toMatchObject({ state: 'failing', botInChat: false, lastErrorCode: 'bot_kicked' })
    expect(s.json.lastError).toContain('удалили')
  })

  test('changing the token moves the webhook from the old bot to the new one', async () => {
    const shopId = await hw.shop()
    const oldToken = newToken()
    const newTok = newToken()
    await hw.connect(shopId, oldToken, '1')
    await hw.connect(shopId, newTok)
    expect(hw.fake.callsOf('deleteWebhook', oldToken).length).toBe(1)
    expect(hw.fake.webhooks.has(oldToken)).toBe(false)
    expect(hw.fake.webhooks.has(newTok)).toBe(true)
    // A different bot cannot write to the old bot's chat: the chat is asked for again.
    expect((await integration(hw, shopId))!.chat_id).toBeNull()
  })
})

describe('onboarding by polling (no PUBLIC_URL)', () => {
  test('connect sets no webhook; /start is captured through getUpdates', async () => {
    const shopId = await hp.shop()
    const token = newToken()
    const c = await hp.connect(shopId, token)
    expect(hp.fake.callsOf('setWebhook', token).length).toBe(0)
    const update = startUpdate(`/start ${startCode(c.connectLink)}`, { id: 8080, type: 'private', first_name: 'Пётр' })
    hp.fake.pushUpdate(token, update)
    hp.services.start()
    await eventually(async () => (await integration(hp, shopId))!.chat_id === '8080', { message: 'chat captured by polling' })
    await hp.services.poller.stop()
    await hp.services.onboarding.settle()
    expect(String(hp.fake.sent(token)[0]!.payload.text)).toContain('Чат подключён')
    expect(hp.fake.callsOf('deleteWebhook', token).length).toBe(0)
    // The next poll starts after the handled update, so it is not fetched again.
    expect(Number((await integration(hp, shopId))!.poll_offset)).toBe(update.update_id + 1)
  })

  test('a bot with a webhook set elsewhere (409) is left alone: polling stops, no deleteWebhook', async () => {
    const shopId = await hp.shop()
    const token = newToken()
    await hp.connect(shopId, token)
    hp.fake.behaveMethod(token, 'getUpdates', B.conflict)
    await hp.services.poller.pollOnce()
    const calls = hp.fake.callsOf('getUpdates', token).length
    await hp.services.poller.pollOnce()
    expect(hp.fake.callsOf('getUpdates', token).length).toBe(calls)
    expect(hp.fake.callsOf('deleteWebhook', token).length).toBe(0)
    expect((await integration(hp, shopId))!.poll_error).toContain('webhook')
  })
})
