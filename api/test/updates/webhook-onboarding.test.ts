import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHarnessPair, type Harness, type HarnessPair } from '../helpers'
import { integration, nextUpdateId, startCode, startUpdate } from '../connect/fixtures'

/** Onboarding by webhook: the webhook set under PUBLIC_URL with a secret, `/start <code>` binding a chat, what is ignored. */
let pair: HarnessPair
let hw: Harness
beforeAll(async () => ({ hw } = pair = await createHarnessPair()))
afterAll(() => pair.close())

describe('onboarding by webhook', () => {
  test('connect sets a webhook under PUBLIC_URL with a secret and explicit allowed_updates, never the token', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
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
    const token = pair.newToken()
    const c = await hw.connect(shopId, token)
    const update = startUpdate(`/start ${startCode(c.connectLink)}`, { id: 1111, type: 'private', first_name: 'Ольга' })
    const wrong = await hw.fake.deliver(token, update, 'not-the-secret')
    expect(wrong.status).toBe(401)
    const hook = hw.fake.webhooks.get(token)!
    const missing = await fetch(hook.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(update) })
    expect(missing.status).toBe(401)
    const unknown = await fetch(`${hw.base}/telegram/webhook/nonexistent-hook-id`, {
      method: 'POST',
      headers: { 'x-telegram-bot-api-secret-token': hook.secret, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(unknown.status).toBe(401)
    expect((await integration(hw, shopId))!.chat_id).toBeNull()
  })

  test('/start <code> in a private chat binds it once, the bot confirms, redelivery is ignored', async () => {
    const shopId = await hw.shop('Ромашка')
    const token = pair.newToken()
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
    await hw.services.updates.settle()
    const replies = hw.fake.sent(token)
    expect(replies.length).toBe(1)
    expect(replies[0]!.payload.chat_id).toBe('424242')
    expect(String(replies[0]!.payload.text)).toContain('Ромашка')
    const s = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(s.json).toMatchObject({ state: 'active', chatId: '42…4242', chatTitle: 'Ольга', connectLink: null })
  })

  test('/start@bot <code> in a group binds the group', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    const c = await hw.connect(shopId, token)
    const res = await hw.fake.deliver(
      token,
      startUpdate(`/start@${c.botUsername} ${startCode(c.connectGroupLink)}`, { id: -1009876543210987, type: 'supergroup', title: 'Флористы' }),
    )
    expect(res.status).toBe(200)
    expect(await integration(hw, shopId)).toMatchObject({ chat_id: '-1009876543210987', chat_type: 'supergroup', chat_title: 'Флористы' })
  })

  test('a stale, spent or wrong code gets a polite answer and binds nothing', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    const c = await hw.connect(shopId, token)
    const code = startCode(c.connectLink)!
    await hw.sql`update telegram_integrations set start_code_expires_at = now() - interval '1 minute' where shop_id = ${shopId}`
    await hw.fake.deliver(token, startUpdate(`/start ${code}`, { id: 555, type: 'private' }))
    await hw.fake.deliver(token, startUpdate('/start WRONGCODE', { id: 556, type: 'private' }))
    await hw.services.updates.settle()
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
    const token = pair.newToken()
    await hw.connect(shopId, token)
    expect((await hw.fake.deliver(token, startUpdate('/help', { id: 77, type: 'private' }))).status).toBe(200)
    expect((await hw.fake.deliver(token, startUpdate('привет', { id: 77, type: 'private' }))).status).toBe(200)
    for (const junk of [{}, { update_id: 'x' }, { update_id: 1, message: 'not an object' }, [1, 2]]) {
      const res = await hw.fake.deliver(token, junk as Record<string, unknown>)
      expect(res.status).toBe(200)
    }
    const hook = hw.fake.webhooks.get(token)!
    const notJson = await fetch(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': hook.secret },
      body: '{oops',
    })
    expect(notJson.status).toBeLessThan(500)
    await hw.services.updates.settle()
    const replies = hw.fake.sent(token)
    expect(replies.length).toBe(1)
    expect(String(replies[0]!.payload.text)).toContain('уведомления о новых заказах')
  })

  test('the bot removed from the chat shows on the status', async () => {
    const shopId = await hw.shop()
    const token = pair.newToken()
    await hw.connect(shopId, token, '-4242')
    await hw.fake.deliver(token, {
      update_id: nextUpdateId(),
      my_chat_member: { chat: { id: -4242, type: 'group', title: 'G' }, from: { id: 1 }, new_chat_member: { status: 'kicked' } },
    })
    const s = await hw.get(`/shops/${shopId}/telegram/status`)
    expect(s.json).toMatchObject({ state: 'failing', botInChat: false, lastErrorCode: 'bot_kicked' })
    expect(s.json.lastError).toContain('удалили')
  })

  test('changing the token moves the webhook from the old bot to the new one', async () => {
    const shopId = await hw.shop()
    const oldToken = pair.newToken()
    const newTok = pair.newToken()
    await hw.connect(shopId, oldToken, '1')
    await hw.connect(shopId, newTok)
    expect(hw.fake.callsOf('deleteWebhook', oldToken).length).toBe(1)
    expect(hw.fake.webhooks.has(oldToken)).toBe(false)
    expect(hw.fake.webhooks.has(newTok)).toBe(true)
    // A different bot cannot write to the old bot's chat: the chat is asked for again.
    expect((await integration(hw, shopId))!.chat_id).toBeNull()
  })
})
