import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { signLaunchToken } from '../../src/access'
import { makeToken } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'

/**
 * Live pages: `GET /shops/{id}/events` streams server-sent events fed by LISTEN/NOTIFY. A stream
 * carries only its own shop's changes, is bounded, and only watched shops pay for NOTIFY.
 */
const PLATFORM_SECRET = 's'.repeat(40)
const ADMIN = 'live-admin-token-0123456789abcdefghij'
let h: Harness
let a: number
let b: number
const tokenA = makeToken()

type Event = { event: string; data: any }

/** Reads a stream in the background, collecting parsed events, until `close()`. */
function watch(res: Response) {
  const events: Event[] = []
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  let ended = false
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (done) break
      buf += decoder.decode(value, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event) events.push({ event, data: data ? JSON.parse(data) : null })
      }
    }
    ended = true
  })()
  return {
    events,
    get ended() {
      return ended
    },
    of: (name: string) => events.filter((e) => e.event === name),
    close: async () => {
      await reader.cancel().catch(() => {})
      await done
    },
  }
}

async function session(shop: number) {
  const { token } = await signLaunchToken({ shopId: shop, secret: PLATFORM_SECRET })
  const r = await h.post('/session', { launch: token })
  expect(r.status).toBe(201)
  return r.json.token as string
}

const open = (shop: number, token: string) => fetch(`${h.base}/shops/${shop}/events`, { headers: { authorization: `Bearer ${token}` } })
const op = { authorization: `Bearer ${ADMIN}` }

beforeAll(async () => {
  h = await createHarness({ listen: true, env: { PLATFORM_SECRET, ADMIN_TOKEN: ADMIN, LIVE_MAX_STREAMS_PER_SHOP: '3' } })
  a = await h.shop('Лавка А')
  b = await h.shop('Лавка Б')
  expect((await h.request('POST', `/shops/${a}/telegram/connect`, { botToken: tokenA, chatId: '5100001', enabled: true }, op)).status).toBe(200)
  expect((await h.request('POST', `/shops/${b}/telegram/connect`, { botToken: makeToken(), chatId: '5100002', enabled: true }, op)).status).toBe(200)
})
afterAll(() => h.close())

describe('the live stream of a shop', () => {
  test('a new order, its notification and a status change arrive as events in the shapes the GET routes return; the other shop’s stream gets none of it', async () => {
    const sa = await session(a)
    const sb = await session(b)
    const ra = await open(a, sa)
    expect(ra.status).toBe(200)
    expect(ra.headers.get('content-type')).toStartWith('text/event-stream')
    const wa = watch(ra)
    const wb = watch(await open(b, sb))
    await eventually(() => wa.of('ready').length && wb.of('ready').length, { message: 'both streams ready' })

    const r = await h.request('POST', `/shops/${a}/orders`, { number: 'LIVE-1', total: 2500, customerName: 'Вера' }, op)
    expect(r.status).toBe(201)
    const orderId = r.json.order.id
    const item = await eventually(() => wa.of('order').find((e) => e.data.id === orderId && e.data.notification?.status === 'sent'), {
      message: 'the order, sent',
    })
    const listed = (await h.request('GET', `/shops/${a}/orders?limit=1`, undefined, { authorization: `Bearer ${sa}` })).json.items[0]
    expect(item.data).toEqual(listed)
    const status = await eventually(() => wa.of('status').at(-1), { message: 'a status event' })
    expect(status.data.sentCount).toBeGreaterThanOrEqual(1)

    await h.request('PATCH', `/shops/${a}/orders/${orderId}`, { status: 'accepted' }, { authorization: `Bearer ${sa}` })
    await eventually(() => wa.of('order').some((e) => e.data.id === orderId && e.data.status === 'accepted'), { message: 'the status change' })

    // a recipient change is a `chats` event with the list
    const chat = (await h.request('GET', `/shops/${a}/telegram/chats`, undefined, { authorization: `Bearer ${sa}` })).json.items[0]
    await h.request('PATCH', `/shops/${a}/telegram/chats/${chat.id}`, { quietHours: { from: '22:00', to: '08:00' } }, { authorization: `Bearer ${sa}` })
    const chats = await eventually(() => wa.of('chats').find((e) => e.data.items[0].quietHours), { message: 'a chats event' })
    expect(chats.data.items[0].quietHours).toEqual({ from: '22:00', to: '08:00' })

    // shop B's stream saw its own ready and nothing of shop A
    expect(wb.events.map((e) => e.event)).toEqual(['ready'])
    expect(JSON.stringify(wb.events)).not.toContain('LIVE-1')
    await wa.close()
    await wb.close()
    await eventually(() => h.services.live.size === 0, { message: 'streams closed' })
  })

  test('one shop’s session cannot open another shop’s stream; no credential is 401', async () => {
    const sb = await session(b)
    const r = await open(a, sb)
    expect(r.status).toBe(403)
    expect((await r.json()).error).toBe('forbidden')
    const none = await fetch(`${h.base}/shops/${a}/events`)
    expect(none.status).toBe(401)
  })

  test('bounded: a shop gets at most LIVE_MAX_STREAMS_PER_SHOP streams (429 beyond, in the API’s error shape)', async () => {
    const sa = await session(a)
    const ws = await Promise.all([1, 2, 3].map(async () => watch(await open(a, sa))))
    await eventually(() => ws.every((w) => w.of('ready').length), { message: 'three ready' })
    const fourth = await open(a, sa)
    expect(fourth.status).toBe(429)
    expect((await fourth.json()).error).toBe('too_many_streams')
    await Promise.all(ws.map((w) => w.close()))
    await eventually(() => h.services.live.size === 0, { message: 'closed' })
    const again = watch(await open(a, sa))
    await eventually(() => again.of('ready').length, { message: 'a slot is free again' })
    await again.close()
  })

  test('only watched shops are announced: a shop nobody watches writes orders without NOTIFY', async () => {
    const quiet = await h.shop('Тихая лавка')
    expect(await h.sql`select 1 from live_watchers where shop_id = ${quiet}`).toHaveLength(0)
    // listen on the side, as another replica would
    const heard: string[] = []
    const l = await h.sql.listen('shop_events', (p) => heard.push(p))
    await h.request('POST', `/shops/${quiet}/orders`, { number: 'Q-1', total: 100, customerName: 'Нина' }, op)
    const sa = await session(a)
    const w = watch(await open(a, sa))
    await eventually(() => w.of('ready').length, { message: 'ready' })
    await h.request('POST', `/shops/${a}/orders`, { number: 'LIVE-2', total: 100, customerName: 'Нина' }, op)
    await eventually(() => heard.some((p) => JSON.parse(p).shop === a), { message: 'the watched shop is announced' })
    expect(heard.filter((p) => JSON.parse(p).shop === quiet)).toEqual([])
    await w.close()
    await l.unlisten()
  })
})
