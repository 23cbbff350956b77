import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHarness, eventually, one, type Harness } from '../helpers'
import { person, shopWithOrder, subscribe, toChat } from './fixtures'

/** A buyer's private chat is paced like every chat the bot writes to: one message a second. */
let h: Harness

beforeAll(async () => {
  h = await createHarness({ listen: true, delivery: { chatIntervalMs: 1000 } })
  h.services.dispatcher.start()
})
afterAll(async () => {
  await h.close()
})

describe('pacing a buyer’s chat', () => {
  test('status changes made at once reach the buyer a second apart, through the chat’s own slot', async () => {
    const o = await shopWithOrder(h)
    const buyer = person(7401, 'Вера')
    await subscribe(h, o, buyer)
    for (const status of ['accepted', 'assembling', 'delivering']) await h.request('PATCH', `/shops/${o.shopId}/orders/${o.orderId}`, { status })
    const sent = await eventually(() => (toChat(h, o.token, buyer.id).length === 4 ? toChat(h, o.token, buyer.id) : null), {
      message: 'greeting and three statuses',
      timeoutMs: 10_000,
    })
    const gaps = sent.slice(1).map((c, i) => c.at - sent[i]!.at)
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900)
    const chat = one(await h.sql`select next_send_at, last_sent_at from telegram_private_chats where shop_id = ${o.shopId} and chat_id = ${String(buyer.id)}`)
    expect(chat.last_sent_at).not.toBeNull()
    expect(new Date(chat.next_send_at).getTime()).toBeGreaterThan(new Date(chat.last_sent_at).getTime())
  }, 20_000)
})
