import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B } from '../fake-telegram'
import { createHarnessPair, type Harness, type HarnessPair } from '../helpers'

/** The test message: sent to the bound chat with its outcome, refused while no chat is bound. */
let pair: HarnessPair
let hw: Harness
beforeAll(async () => ({ hw } = pair = await createHarnessPair()))
afterAll(() => pair.close())

describe('test message', () => {
  test('sends to the bound chat and answers the outcome', async () => {
    const shopId = await hw.shop('Лавка «Тест»')
    const token = pair.newToken()
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
    const token = pair.newToken()
    await hw.connect(shopId, token)
    const r = await hw.post(`/shops/${shopId}/telegram/test`)
    expect(r.status).toBe(409)
    expect(r.json.error).toBe('chat_not_bound')
    expect(hw.fake.sent(token).length).toBe(0)
  })
})
