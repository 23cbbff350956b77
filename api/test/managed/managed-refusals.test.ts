import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, expectNoSecrets, type Harness, one } from '../helpers'
import { createShopBot, integration, managedLink, managerSaid, person, requestButton, toManager } from './fixtures'

/**
 * What must change nothing: a bot created by someone who did not open a live link, an expired link, a
 * spent one, a link someone else opened first, a forged webhook call; and the clear refusals of the
 * routes (no manager bot, a pasted token, no bot at all).
 */
const MANAGER = makeToken('managerR')
const BAD_MANAGER = makeToken('badManager')
let h: Harness
let off: Harness
let hb: Harness

// the whole flow runs several Bot API round trips; a loaded CI machine needs more than the default 5 s
setDefaultTimeout(30_000)

beforeAll(async () => {
  h = await createHarness({ listen: true, env: { MANAGER_BOT_TOKEN: MANAGER } })
  off = await createHarness()
  hb = await createHarness({ fake: h.fake, env: { MANAGER_BOT_TOKEN: BAD_MANAGER } })
  h.fake.enableBotManagement(MANAGER)
}, 60_000)
afterAll(async () => {
  expectNoSecrets([...h.responses, ...h.logs], [MANAGER])
  await hb.close()
  await off.close()
  await h.close()
}, 60_000)

const nothingConnected = async (shopId: number) => {
  expect(await integration(h, shopId)).toBeUndefined()
  const [e] = await h.sql`select count(*)::int as n from platform_events where shop_id = ${shopId}`
  expect(e!.n).toBe(0)
}

describe('a bot that must not connect anything', () => {
  test('a stranger’s bot: someone else created it, though the owner opened the link', async () => {
    const shopId = await h.shop('Ромашка')
    const owner = person('Ольга')
    const stranger = person('Чужой')
    const { code } = await managedLink(h, shopId)
    await toManager(h, MANAGER, h.fake.message(owner, `/start ${code}`))
    const created = h.fake.createManagedBot(MANAGER, stranger, { username: 'stranger_shop_bot' })
    await toManager(h, MANAGER, created.update)
    await nothingConnected(shopId)
    expect(h.fake.callsOf('getManagedBotToken', MANAGER).filter((c) => c.payload.user_id === created.botId)).toEqual([])
    expect(managerSaid(h, MANAGER, stranger)).toEqual([])
    // the link is still the owner's: their own bot connects
    const own = h.fake.createManagedBot(MANAGER, owner, { username: 'romashka_own_bot' })
    await toManager(h, MANAGER, own.update)
    expect((await integration(h, shopId))!.bot_username).toBe('romashka_own_bot')
  })

  test('a bot created with no link at all changes nothing', async () => {
    const shopId = await h.shop()
    const nobody = person('Никто')
    const created = h.fake.createManagedBot(MANAGER, nobody, { username: 'nobody_bot' })
    await toManager(h, MANAGER, created.update)
    await nothingConnected(shopId)
    expect(h.fake.callsOf('getManagedBotToken', MANAGER).filter((c) => c.payload.user_id === created.botId)).toEqual([])
  })

  test('an expired code: /start gets a polite refusal without the button, a bot created after changes nothing', async () => {
    const shopId = await h.shop()
    const owner = person()
    const { code } = await managedLink(h, shopId)
    await h.sql`update managed_bot_links set expires_at = now() - interval '1 second' where code = ${code}`
    const mark = h.fake.calls.length
    await toManager(h, MANAGER, h.fake.message(owner, `/start ${code}`))
    const reply = one(managerSaid(h, MANAGER, owner, mark))
    expect(String(reply.payload.text)).toContain('устарела или уже использована')
    expect(requestButton(reply)).toBeNull()
    await toManager(h, MANAGER, h.fake.createManagedBot(MANAGER, owner, { username: 'late_bot' }).update)
    await nothingConnected(shopId)
  })

  test('a link expiring between /start and the new bot changes nothing', async () => {
    const shopId = await h.shop()
    const owner = person()
    const { code } = await managedLink(h, shopId)
    await toManager(h, MANAGER, h.fake.message(owner, `/start ${code}`))
    await h.sql`update managed_bot_links set expires_at = now() - interval '1 second' where code = ${code}`
    await toManager(h, MANAGER, h.fake.createManagedBot(MANAGER, owner, { username: 'slow_bot' }).update)
    await nothingConnected(shopId)
  })

  test('a reused code: spent once, it neither starts for anyone nor connects a second bot', async () => {
    const shopId = await h.shop('Лаванда')
    const owner = person()
    const first = await createShopBot(h, MANAGER, shopId, owner)
    const before = (await integration(h, shopId))!
    for (const who of [owner, person('Другой')]) {
      const mark = h.fake.calls.length
      await toManager(h, MANAGER, h.fake.message(who, `/start ${first.code}`))
      const reply = one(managerSaid(h, MANAGER, who, mark))
      expect(String(reply.payload.text)).toContain('устарела или уже использована')
      expect(requestButton(reply)).toBeNull()
    }
    await toManager(h, MANAGER, h.fake.createManagedBot(MANAGER, owner, { username: 'second_bot' }).update)
    const after = (await integration(h, shopId))!
    expect(after.bot_id).toBe(before.bot_id)
    expect(after.bot_token).toBe(before.bot_token)
    const [e] = await h.sql`select count(*)::int as n from platform_events where shop_id = ${shopId} and type = 'telegram.connected'`
    expect(e!.n).toBe(1)
  })

  test('a link opened by one person cannot be started by another', async () => {
    const shopId = await h.shop()
    const owner = person()
    const other = person('Другой')
    const { code } = await managedLink(h, shopId)
    await toManager(h, MANAGER, h.fake.message(owner, `/start ${code}`))
    const mark = h.fake.calls.length
    await toManager(h, MANAGER, h.fake.message(other, `/start ${code}`))
    expect(requestButton(one(managerSaid(h, MANAGER, other, mark)))).toBeNull()
    await toManager(h, MANAGER, h.fake.createManagedBot(MANAGER, other, { username: 'other_bot' }).update)
    await nothingConnected(shopId)
  })

  test('a redelivered managed_bot update is handled once', async () => {
    const shopId = await h.shop()
    const owner = person()
    const bot = await createShopBot(h, MANAGER, shopId, owner)
    const res = await h.fake.deliver(MANAGER, bot.update)
    expect(await res.json()).toEqual({ ok: true, result: 'duplicate' })
    expect(h.fake.callsOf('getManagedBotToken', MANAGER).filter((c) => c.payload.user_id === bot.botId).length).toBe(1)
  })

  test('a forged call to the manager webhook (wrong secret or id) is 401 and changes nothing', async () => {
    const shopId = await h.shop()
    const owner = person()
    const { code } = await managedLink(h, shopId)
    const hook = h.fake.webhooks.get(MANAGER)!
    const forged = h.fake.createManagedBot(MANAGER, owner, { username: 'forged_bot' })
    await toManager(h, MANAGER, h.fake.message(owner, `/start ${code}`))
    expect((await h.fake.deliver(MANAGER, forged.update, 'not-the-secret')).status).toBe(401)
    const wrongId = await fetch(`${h.base}/telegram/manager-webhook/not-the-id`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': hook.secret },
      body: JSON.stringify(forged.update),
    })
    expect(wrongId.status).toBe(401)
    await nothingConnected(shopId)
  })

  test('other messages to the manager bot get a short explanation, service messages nothing', async () => {
    const someone = person()
    const mark = h.fake.calls.length
    await toManager(h, MANAGER, h.fake.message(someone, 'привет'))
    await toManager(h, MANAGER, h.fake.message(someone, '/start'))
    const created = {
      ...h.fake.message(someone, ''),
      message: { ...h.fake.message(someone, '').message, text: undefined, managed_bot_created: { bot: { id: 1, is_bot: true } } },
    }
    await toManager(h, MANAGER, created)
    const replies = managerSaid(h, MANAGER, someone, mark)
    expect(replies.length).toBe(2)
    for (const r of replies) expect(String(r.payload.text)).toContain('Создать бота')
  })
})

describe('the routes refuse clearly', () => {
  test('without MANAGER_BOT_TOKEN: managed-link is 409 managed_bots_off, status says canCreateBot: false', async () => {
    const shopId = await off.shop()
    const r = await off.post(`/shops/${shopId}/telegram/managed-link`)
    expect(r.status).toBe(409)
    expect(r.json.error).toBe('managed_bots_off')
    expect(r.json.message).toContain('MANAGER_BOT_TOKEN')
    expect((await off.get(`/shops/${shopId}/telegram/status`)).json).toMatchObject({ managed: false, canCreateBot: false })
    expect((await off.post('/shops/999999/telegram/managed-link')).status).toBe(404)
    expect((await off.sql`select 1 from managed_bot_links`).length).toBe(0)
  })

  test('an unknown shop is 404; a manager bot Telegram refuses is 409 manager_bot_rejected, one without bot management 409 manager_bot_cannot_manage', async () => {
    expect((await h.post('/shops/999999/telegram/managed-link')).status).toBe(404)
    h.fake.behave(BAD_MANAGER, { kind: 'error', status: 401, description: 'Unauthorized' })
    const r = await hb.post(`/shops/${await hb.shop()}/telegram/managed-link`)
    expect(r.status).toBe(409)
    expect(r.json.error).toBe('manager_bot_rejected')
    h.fake.behave(BAD_MANAGER, { kind: 'ok' })
    const noMode = await hb.post(`/shops/${await hb.shop()}/telegram/managed-link`)
    expect(noMode.status).toBe(409)
    expect(noMode.json.error).toBe('manager_bot_cannot_manage')
    expect(noMode.json.message).toContain('@BotFather')
    expect((await hb.sql`select 1 from managed_bot_links`).length).toBe(0)
  })

  test('rotate-token: a pasted token is 409 not_managed, no bot is 409 not_connected, and Telegram is not asked', async () => {
    const pasted = await h.shop()
    const token = makeToken()
    await h.connect(pasted, token, '1')
    const r = await h.post(`/shops/${pasted}/telegram/rotate-token`)
    expect(r.status).toBe(409)
    expect(r.json.error).toBe('not_managed')
    expect((await h.get(`/shops/${pasted}/telegram/status`)).json.managed).toBe(false)
    const none = await h.post(`/shops/${await h.shop()}/telegram/rotate-token`)
    expect(none.status).toBe(409)
    expect(none.json.error).toBe('not_connected')
    expect((await h.post('/shops/999999/telegram/rotate-token')).status).toBe(404)
    expect(h.fake.callsOf('replaceManagedBotToken', MANAGER)).toEqual([])
  })

  test('pasting a token over a managed bot makes it a pasted one (rotation refused)', async () => {
    const shopId = await h.shop()
    await createShopBot(h, MANAGER, shopId, person())
    await h.connect(shopId, makeToken())
    expect((await integration(h, shopId))!.managed).toBe(false)
    expect((await h.post(`/shops/${shopId}/telegram/rotate-token`)).json.error).toBe('not_managed')
  })

  test('the demo route exists only in mock mode', async () => {
    const r = await h.post(`/shops/${await h.shop()}/telegram/mock/managed-bot`)
    expect(r.status).toBe(409)
    expect(r.json.error).toBe('not_mock_mode')
  })
})
