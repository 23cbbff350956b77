import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'

let h: Harness
let updateId = 70_000
beforeAll(async () => {
  h = await createHarness({ listen: true })
})
afterAll(() => h.close())

const startCode = (link: string) => new URL(link).searchParams.get('start') ?? new URL(link).searchParams.get('startgroup')
const start = (code: string, chat: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  update_id: ++updateId,
  message: { message_id: updateId, date: Math.floor(Date.now() / 1000), chat, from: { id: 9001, first_name: 'Ольга' }, text: `/start ${code}`, ...extra },
})

describe('recipients API', () => {
  test('add, list (masked), change, test and remove a recipient; the first one stays the integration’s chatId', async () => {
    const shop = await h.shop()
    const token = makeToken()
    await h.connect(shop, token, '7000001')
    const add = await h.post(`/shops/${shop}/telegram/chats`, {
      chatId: '-1007000002',
      events: ['order_created', 'order_cancelled'],
      quietHours: { from: '22:00', to: '08:00' },
    })
    expect(add.status).toBe(201)
    expect(add.json).toMatchObject({
      chatId: '-100…0002',
      events: ['order_created', 'order_cancelled'],
      quietHours: { from: '22:00', to: '08:00' },
      enabled: true,
      state: 'active',
      threadId: null,
    })
    const list = (await h.get(`/shops/${shop}/telegram/chats`)).json.items
    expect(list.map((c: { chatId: string }) => c.chatId)).toEqual(['70…0001', '-100…0002'])
    expect(JSON.stringify(list)).not.toContain('7000002')
    const patched = await h.request('PATCH', `/shops/${shop}/telegram/chats/${add.json.id}`, { threadId: 12, quietHours: null, enabled: false })
    expect(patched.json).toMatchObject({ threadId: 12, quietHours: null, enabled: false, state: 'paused' })
    const tested = await h.post(`/shops/${shop}/telegram/chats/${add.json.id}/test`)
    expect(tested.json.sent).toBe(true)
    const last = h.fake.sent(token).at(-1)!
    expect([last.payload.chat_id, last.payload.message_thread_id]).toEqual(['-1007000002', 12])
    // removing the first recipient makes the next one the chat older clients see
    expect((await h.request('DELETE', `/shops/${shop}/telegram/chats/${list[0].id}`)).status).toBe(204)
    const status = (await h.get(`/shops/${shop}/telegram/status`)).json
    expect(status.chatId).toBe('-100…0002')
    const audit = (await h.get(`/shops/${shop}/audit`)).json.items.map((e: { action: string }) => e.action)
    expect(audit).toEqual(expect.arrayContaining(['recipient_added', 'recipient_changed', 'recipient_removed']))
  })

  test('bad input is 422 and changes nothing; a duplicate is 409; an unknown recipient 404', async () => {
    const shop = await h.shop()
    await h.connect(shop, makeToken(), '7100001')
    const before = (await h.get(`/shops/${shop}/telegram/chats`)).json.items
    for (const body of [
      { chatId: '' },
      { chatId: 'abc' },
      { chatId: '7100009', events: ['nope'] },
      { chatId: '7100009', quietHours: { from: '25:00', to: '08:00' } },
      { chatId: '7100009', threadId: 0 },
      {},
    ]) {
      const r = await h.post(`/shops/${shop}/telegram/chats`, body)
      expect(r.status, JSON.stringify(body)).toBe(422)
    }
    expect((await h.post(`/shops/${shop}/telegram/chats`, { chatId: '7100001' })).status).toBe(409)
    expect((await h.get(`/shops/${shop}/telegram/chats`)).json.items).toEqual(before)
    expect((await h.request('PATCH', `/shops/${shop}/telegram/chats/999999`, { enabled: false })).status).toBe(404)
  })

  test('the connect link’s /start adds a chat; a /start inside a forum topic adds that topic; the first chat is kept', async () => {
    const shop = await h.shop()
    const token = makeToken()
    const c = await h.connect(shop, token)
    await h.fake.deliver(token, start(startCode(c.connectLink)!, { id: 7200001, type: 'private', first_name: 'Ольга' }))
    const link = (await h.post(`/shops/${shop}/telegram/link`)).json
    const res = await h.fake.deliver(
      token,
      start(
        startCode(link.connectGroupLink)!,
        { id: -1007200002, type: 'supergroup', title: 'Флористы', is_forum: true },
        { message_thread_id: 55, is_topic_message: true },
      ),
    )
    expect(res.status).toBe(200)
    const items = (await h.get(`/shops/${shop}/telegram/chats`)).json.items
    expect(items.map((i: { title: string; threadId: number | null; events: string[] }) => [i.title, i.threadId, i.events.length])).toEqual([
      ['Ольга', null, 5],
      ['Флористы', 55, 5],
    ])
    expect((await h.get(`/shops/${shop}/telegram/status`)).json.chatId).toBe('72…0001')
    await h.services.updates.settle()
    const reply = h.fake.sent(token).find((s) => s.payload.chat_id === -1007200002 || s.payload.chat_id === '-1007200002')
    expect(reply?.payload.message_thread_id).toBe(55)
  })

  test('connect with another chatId replaces the first chat, and the previous chat is told', async () => {
    const shop = await h.shop()
    const token = makeToken()
    await h.connect(shop, token, '7300001')
    const r = await h.post(`/shops/${shop}/telegram/connect`, { chatId: '7300002', enabled: true })
    expect(r.status).toBe(200)
    const told = await eventually(() => h.fake.sent(token).find((s) => String(s.payload.chat_id) === '7300001'), { message: 'previous chat told' })
    expect(String(told.payload.text)).toContain('теперь приходят в другой чат')
    const items = (await h.get(`/shops/${shop}/telegram/chats`)).json.items
    expect(items.map((i: { chatId: string }) => i.chatId)).toEqual(['73…0002'])
  })
})
