import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B, makeToken } from '../fake-telegram'
import { createHarness, eventually, expectNoSecrets, type Harness } from '../helpers'

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
    await hp.services.updates.settle()
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
