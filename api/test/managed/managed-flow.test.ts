import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, expectNoSecrets, type Harness, one } from '../helpers'
import { createShopBot, integration, managerSaid, person, toShopBot } from './fixtures'

/**
 * One tap to a bot, end to end through the fake Bot API as Telegram plays it: the owner's link →
 * `/start <code>` to the manager bot → the `request_managed_bot` button → the person creates the bot
 * (`managed_bot`) → its token fetched → the shop connected → the bind link → `/start` on the new bot
 * binds the chat → an order arrives there through the new bot; then the token is rotated and the next
 * order goes with the new one. `hw` gets updates by webhook (PUBLIC_URL), `hp` by getUpdates.
 */
const MANAGER_W = makeToken('managerW')
const MANAGER_P = makeToken('managerP')
let hw: Harness
let hp: Harness
const secrets: string[] = [MANAGER_W, MANAGER_P]

// the whole flow runs several Bot API round trips; a loaded CI machine needs more than the default 5 s
setDefaultTimeout(30_000)

beforeAll(async () => {
  hw = await createHarness({ listen: true, env: { MANAGER_BOT_TOKEN: MANAGER_W } })
  hp = await createHarness({ fake: hw.fake, env: { MANAGER_BOT_TOKEN: MANAGER_P } })
  // both manager bots have bot management mode on in @BotFather
  for (const m of [MANAGER_W, MANAGER_P]) hw.fake.enableBotManagement(m)
}, 60_000)
afterAll(async () => {
  expectNoSecrets([...hw.responses, ...hw.logs, ...hp.responses, ...hp.logs], secrets)
  await hp.close()
  await hw.close()
}, 60_000)

const modes = [
  { name: 'by webhook', h: () => hw, manager: MANAGER_W },
  { name: 'by polling', h: () => hp, manager: MANAGER_P },
] as const

for (const mode of modes) {
  describe(`the managed flow ${mode.name}`, () => {
    test('link → /start → button → managed_bot → connected → bind link → order through the new bot → rotation', async () => {
      const h = mode.h()
      const manager = mode.manager
      const shopId = await h.shop('Цветы на Ленина')
      const owner = person('Ольга')

      const bot = await createShopBot(h, manager, shopId, owner)
      secrets.push(bot.token)
      // Telegram reached the manager bot the way the deployment allows
      if (mode.name === 'by webhook') {
        const hook = h.fake.webhooks.get(manager)
        expect(hook?.url).toStartWith(`${h.base}/telegram/manager-webhook/`)
        expect(hook!.url.includes(manager.split(':')[1]!)).toBe(false)
        expect(one(h.fake.callsOf('setWebhook', manager)).payload.allowed_updates).toEqual(['message', 'managed_bot'])
      } else {
        expect(h.fake.callsOf('setWebhook', manager).length).toBe(0)
        expect(h.fake.callsOf('getUpdates', manager).at(-1)!.payload.allowed_updates).toEqual(['message', 'managed_bot'])
      }
      expect(bot.prompt.payload.text).toContain('Цветы на Ленина')
      expect(bot.button).toEqual({ request_id: shopId, suggested_name: 'Цветы на Ленина', suggested_username: `tsvety_na_lenina_${shopId}_bot` })
      expect((bot.prompt.payload.reply_markup as Record<string, unknown>).one_time_keyboard).toBe(true)

      // the token was fetched by the manager bot and proven like a pasted one
      expect(one(h.fake.callsOf('getManagedBotToken', manager)).payload).toEqual({ user_id: bot.botId })
      expect(h.fake.callsOf('getMe', bot.token).length).toBeGreaterThanOrEqual(1)
      expect(h.fake.callsOf('setMyCommands', bot.token).length).toBe(1)
      expect(h.fake.callsOf('setWebhook', bot.token).length).toBe(mode.name === 'by webhook' ? 1 : 0)
      // a Russian profile from the shop
      expect(one(h.fake.callsOf('setMyName', bot.token)).payload.name).toBe('Цветы на Ленина')
      expect(String(one(h.fake.callsOf('setMyDescription', bot.token)).payload.description)).toContain('Бот магазина «Цветы на Ленина»')
      expect(String(one(h.fake.callsOf('setMyShortDescription', bot.token)).payload.short_description)).toBe('Заказы магазина «Цветы на Ленина» в Telegram')

      const row = (await integration(h, shopId))!
      expect(row).toMatchObject({ managed: true, bot_id: String(bot.botId), bot_username: `tsvety_na_lenina_${shopId}_bot`, enabled: true, chat_id: null })
      expect(row.bot_token.includes(bot.token.split(':')[1]!)).toBe(false) // encrypted at rest
      const [event] = await h.sql<
        { data: Record<string, unknown> }[]
      >`select data from platform_events where shop_id = ${shopId} and type = 'telegram.connected'`
      expect(event!.data).toEqual({ shopId, botUsername: row.bot_username, managed: true })
      const [link] = await h.sql`select used_at, bot_id, started_by from managed_bot_links where code = ${bot.code}`
      expect(link).toMatchObject({ bot_id: String(bot.botId), started_by: String(owner.id) })
      expect(link!.used_at).not.toBeNull()

      // the person is handed the new bot with its connect code
      expect(bot.ready.payload.text).toContain(`@${row.bot_username}`)
      expect(bot.openLink).toBe(`https://t.me/${row.bot_username}?start=${row.start_code}`)
      const status = await h.get(`/shops/${shopId}/telegram/status`)
      expect(status.json).toMatchObject({ managed: true, canCreateBot: true, state: 'waiting_chat', botUsername: row.bot_username })

      // one more tap: /start on the new bot binds the person's chat; the bot then offers the group
      const mark = h.fake.calls.length
      await toShopBot(h, bot.token, h.fake.message(owner, `/start ${new URL(bot.openLink).searchParams.get('start')}`))
      expect((await integration(h, shopId))!.chat_id).toBe(String(owner.id))
      const said = h.fake.calls.slice(mark).filter((c) => c.method === 'sendMessage' && c.token === bot.token)
      expect(said.map((c) => String(c.payload.text))).toEqual([expect.stringContaining('Чат подключён'), expect.stringContaining('группу флористов')])
      const groupUrl = (said[1]!.payload.reply_markup as { inline_keyboard: { url: string }[][] }).inline_keyboard[0]![0]!.url
      const groupCode = new URL(groupUrl).searchParams.get('startgroup')!
      expect(groupUrl).toBe(`https://t.me/${row.bot_username}?startgroup=${groupCode}`)

      // the group link binds the florists' group, as Telegram sends it after the picker adds the bot
      const sent = h.fake.message(owner, `/start@${row.bot_username} ${groupCode}`)
      const group = { ...sent, message: { ...sent.message, chat: { id: -1001234500000 - shopId, type: 'supergroup', title: 'Флористы' } } }
      await toShopBot(h, bot.token, group)
      const chats = await h.get(`/shops/${shopId}/telegram/chats`)
      expect(chats.json.items.map((c: { title: string }) => c.title).sort()).toEqual(['Ольга', 'Флористы'])

      // an order arrives in the person's chat through the new bot
      const order = await h.post(`/shops/${shopId}/orders`, { number: 'M-1', total: 2500, customerName: 'Анна' })
      expect(order.status).toBe(201)
      expect(order.json.telegramStatus).toBe('sent')
      const first = h.fake.sent(bot.token).filter((c) => String(c.payload.text).includes('M-1'))
      expect(first.map((c) => String(c.payload.chat_id)).sort()).toEqual([String(-1001234500000 - shopId), String(owner.id)].sort())

      // rotation: Telegram swaps the token; the old one is dead, the next order goes with the new one
      const rotated = await h.post(`/shops/${shopId}/telegram/rotate-token`)
      expect(rotated.status, rotated.text).toBe(200)
      expect(rotated.json.botUsername).toBe(row.bot_username)
      expect(Date.parse(rotated.json.rotatedAt)).toBeGreaterThan(Date.now() - 60_000)
      expect(one(h.fake.callsOf('replaceManagedBotToken', manager)).payload).toEqual({ user_id: bot.botId })
      const newToken = h.fake.managedToken(bot.botId)
      secrets.push(newToken)
      expect(newToken).not.toBe(bot.token)
      const again = await h.post(`/shops/${shopId}/orders`, { number: 'M-2', total: 900, customerName: 'Борис' })
      expect(again.json.telegramStatus).toBe('sent')
      expect(h.fake.sent(newToken).filter((c) => String(c.payload.text).includes('M-2')).length).toBe(2)
      expect(h.fake.sent(bot.token).filter((c) => String(c.payload.text).includes('M-2')).length).toBe(0)
      expect((await integration(h, shopId))!.token_rotated_at).not.toBeNull()
      if (mode.name === 'by webhook') {
        // the webhook was re-pointed with the new token and a new secret: updates still arrive
        expect(h.fake.callsOf('setWebhook', newToken).length).toBe(1)
        const res = await h.fake.deliver(newToken, h.fake.message(owner, '/help'))
        expect(res.status).toBe(200)
      }
      const audit = await h.sql<{ action: string }[]>`select action from audit_log where shop_id = ${shopId} order by id`
      expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['managed_link_issued', 'bot_connected', 'bot_token_rotated']))
      expect(managerSaid(h, manager, owner).length).toBe(2)

      // once the group is connected, another private chat bound later is not offered it again
      const relink = await h.post(`/shops/${shopId}/telegram/link`)
      const colleague = person('Ирина')
      const mark2 = h.fake.calls.length
      await toShopBot(h, newToken, h.fake.message(colleague, `/start ${new URL(relink.json.connectLink).searchParams.get('start')}`))
      const toColleague = h.fake.calls.slice(mark2).filter((c) => c.method === 'sendMessage' && String(c.payload.chat_id) === String(colleague.id))
      expect(toColleague.map((c) => String(c.payload.text))).toEqual([expect.stringContaining('Чат подключён')])
    })
  })
}
