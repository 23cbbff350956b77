import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B, makeToken } from '../fake-telegram'
import { createHarness, expectNoSecrets, type Harness } from '../helpers'

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
const _integration = (h: Harness, shopId: number) => h.sql`select * from telegram_integrations where shop_id = ${shopId}`.then((r) => r[0])
const _startCode = (link: string) => new URL(link).searchParams.get('start') ?? new URL(link).searchParams.get('startgroup')
let updateId = 5000
const _startUpdate = (text: string, chat: Record<string, unknown>) => ({
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
