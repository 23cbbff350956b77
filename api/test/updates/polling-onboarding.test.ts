import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { B } from '../fake-telegram'
import { createHarnessPair, eventually, type Harness, type HarnessPair } from '../helpers'
import { integration, startCode, startUpdate } from '../connect/fixtures'

/** Onboarding without PUBLIC_URL: no webhook, `/start` is captured through getUpdates. */
let pair: HarnessPair
let hw: Harness
let hp: Harness
beforeAll(async () => ({ hw, hp } = pair = await createHarnessPair()))
afterAll(() => pair.close())

describe('onboarding by polling (no PUBLIC_URL)', () => {
  test('connect sets no webhook; /start is captured through getUpdates', async () => {
    const shopId = await hp.shop()
    const token = pair.newToken()
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
    const token = pair.newToken()
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
