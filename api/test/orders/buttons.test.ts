import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHarnessPair, type Harness, type HarnessPair } from '../helpers'
import { buttons, orderWithMessage } from './fixtures'

/** The buttons on an order's message: «Принять» with short signed data, «Открыть» only with PUBLIC_URL. */
let pair: HarnessPair
let hw: Harness
let hp: Harness
beforeAll(async () => ({ hw, hp } = pair = await createHarnessPair({ dispatcher: true })))
afterAll(() => pair.close())

describe('buttons on the order message', () => {
  test('«Принять» carries short signed data; «Открыть» links to our page when PUBLIC_URL is set', async () => {
    const { sent, orderId, shopId } = await orderWithMessage(hw, pair.newToken())
    const [accept, open] = buttons(sent)
    expect(accept!.text).toBe('Принять')
    expect(accept!.callback_data).toMatch(new RegExp(`^a:${orderId}:[A-Za-z0-9_-]{12}$`))
    expect(Buffer.byteLength(accept!.callback_data!)).toBeLessThanOrEqual(64)
    expect(open).toEqual({ text: 'Открыть', url: `${hw.base}/shops/${shopId}/growth/telegram?order=${orderId}#order-${orderId}` })
  })

  test('without PUBLIC_URL there is only «Принять»', async () => {
    const { sent } = await orderWithMessage(hp, pair.newToken())
    expect(buttons(sent).map((b) => b.text)).toEqual(['Принять'])
  })
})
