import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { scheduleSummaries } from '../../src/notifications'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'

/** Reminders and the morning summary are outbox rows with a due time: once, whatever restarts or replicas do. */
let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

const local = (d: Date, timeZone: string) => {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(d)
      .map((x) => [x.type, x.value]),
  )
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` }
}

async function shopIn(timeZone: string, chatId: string) {
  const shop = await h.shop(`Лавка ${timeZone}`)
  const token = makeToken()
  await h.connect(shop, token, chatId)
  await h.request('PATCH', `/shops/${shop}/telegram/settings`, { timeZone })
  return { shop, token }
}

describe('the morning summary', () => {
  test('due at the shop’s own 08:00 (Asia/Vladivostok and Europe/Moscow), written once however often and by whomever it is scheduled', async () => {
    const vl = await shopIn('Asia/Vladivostok', '7700001')
    const msk = await shopIn('Europe/Moscow', '7700002')
    const now = new Date('2026-03-07T20:00:00Z') // 06:00 on 8 March in Vladivostok, 23:00 on 7 March in Moscow
    await Promise.all([scheduleSummaries(h.sql, now), scheduleSummaries(h.sql, now), scheduleSummaries(h.sql, new Date(now.getTime() + 60_000))])
    const rows = await h.sql<{ shop_id: string; due_key: string; at: string }[]>`
      select shop_id, due_key, to_char(next_attempt_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI') as at
      from telegram_outbox where kind = 'daily_summary' and shop_id in (${vl.shop}, ${msk.shop}) order by shop_id`
    expect(rows.map((r) => [Number(r.shop_id), r.due_key, r.at])).toEqual([
      [vl.shop, '2026-03-08', '2026-03-07T22:00'],
      [msk.shop, '2026-03-08', '2026-03-08T05:00'],
    ])
  })

  test('when due, two dispatchers send it exactly once; a restart sends nothing more; it groups the day by window', async () => {
    const { shop, token } = await shopIn('Europe/Moscow', '7700003')
    const today = local(new Date(), 'Europe/Moscow').date
    for (const [n, time, status] of [
      ['S-1', '10:00-12:00', 'new'],
      ['S-2', '10:00-12:00', 'accepted'],
      ['S-3', '16:00', 'new'],
      ['S-4', '18:00', 'cancelled'],
    ] as const) {
      const r = await h.post(`/shops/${shop}/orders`, {
        number: n,
        total: 1000,
        customerName: 'Клиент',
        deliveryDate: today,
        deliveryTime: time,
        address: 'ул. Мира, 5',
      })
      if (status !== 'new') await h.request('PATCH', `/shops/${shop}/orders/${r.json.order.id}`, { status })
    }
    await scheduleSummaries(h.sql, new Date())
    await h.sql`update telegram_outbox set next_attempt_at = now(), due_key = ${today} where shop_id = ${shop} and kind = 'daily_summary'`
    const before = h.fake.sent(token).length
    const replica = await createHarness({ restartOf: { db: h.db, cipherKey: h.cipherKey }, fake: h.fake })
    // both replicas run passes (one message per chat per pass) until nothing is left
    for (let i = 0; i < 20; i++) {
      const claimed = await Promise.all([h.services.dispatcher.runOnce(), replica.services.dispatcher.runOnce()])
      if (claimed[0] + claimed[1] === 0) break
    }
    await replica.stop()
    const summaries = h.fake
      .sent(token)
      .slice(before)
      .filter((c) => String(c.payload.text).startsWith('☀️'))
    expect(summaries).toHaveLength(1)
    const text = String(summaries[0]!.payload.text)
    expect(text).toContain('Всего: 3 на 3\u00a0000\u00a0₽')
    expect(text).toContain('не приняты: 2')
    expect(text.indexOf('<b>10:00–12:00</b>')).toBeLessThan(text.indexOf('<b>16:00</b>'))
    expect(text).not.toContain('S-4')
    // POST …/summary sends today's now
    const now = await h.post(`/shops/${shop}/telegram/summary`)
    expect(now.json).toMatchObject({ sent: 1, failed: 0, deliveries: 3 })
  })
})

describe('the summary preview (the settings page shows tomorrow’s)', () => {
  test('tomorrow in the shop’s zone by default, with its send time; nothing is sent; a given day; bad days are 400 like every bad query', async () => {
    const { shop, token } = await shopIn('Asia/Vladivostok', '7700009')
    await h.request('PATCH', `/shops/${shop}/telegram/settings`, { summaryTime: '07:30' })
    const todayVl = local(new Date(), 'Asia/Vladivostok').date
    const tomorrow = new Date(`${todayVl}T12:00:00Z`)
    tomorrow.setUTCDate(tomorrow.getUTCDate() + 1)
    const day = tomorrow.toISOString().slice(0, 10)
    for (const [n, d, time] of [
      ['P-1', day, '12:00–14:00'],
      ['P-2', day, '09:00'],
      ['P-3', todayVl, '10:00'],
    ] as const)
      expect((await h.post(`/shops/${shop}/orders`, { number: n, total: 1500, customerName: 'Клиент', deliveryDate: d, deliveryTime: time })).status).toBe(201)
    const sent = h.fake.sent(token).length
    const r = await h.get(`/shops/${shop}/telegram/summary`)
    expect(r.status).toBe(200)
    expect(r.json.day).toBe(day)
    // 07:30 in Vladivostok (UTC+10) is 21:30 UTC the evening before
    const prev = new Date(`${day}T00:00:00Z`)
    prev.setUTCDate(prev.getUTCDate() - 1)
    expect(r.json.sendsAt).toBe(`${prev.toISOString().slice(0, 10)}T21:30:00.000Z`)
    expect(r.json.deliveries).toBe(2)
    expect(r.json.text).toContain('Всего: 2 на 3\u00a0000\u00a0₽ · <b>не приняты: 2</b>')
    expect(r.json.text.indexOf('<b>09:00</b>')).toBeLessThan(r.json.text.indexOf('<b>12:00–14:00</b>'))
    expect(r.json.text).not.toContain('P-3')
    expect(h.fake.sent(token).length).toBe(sent)

    const today = await h.get(`/shops/${shop}/telegram/summary?day=${todayVl}`)
    expect(today.json).toMatchObject({ day: todayVl, deliveries: 1 })
    for (const bad of ['2026-02-30', 'tomorrow', '2026-1-1']) {
      const b = await h.get(`/shops/${shop}/telegram/summary?day=${bad}`)
      expect(b.status).toBe(400)
      expect(b.json.details).toEqual([{ path: 'day', message: 'must be a real date as YYYY-MM-DD' }])
    }
  })
})

describe('the reminder before a delivery window', () => {
  test('due lead minutes before the window; sent once, as a reply under the order, only for orders not yet assembling', async () => {
    const { shop, token } = await shopIn('Europe/Moscow', '7700004')
    await h.request('PATCH', `/shops/${shop}/telegram/settings`, { reminderLeadMinutes: 60 })
    const start = new Date(Date.now() + 90 * 60_000)
    const slot = local(start, 'Europe/Moscow')
    const create = (n: string) =>
      h.post(`/shops/${shop}/orders`, { number: n, total: 500, customerName: 'Вера', deliveryDate: slot.date, deliveryTime: slot.time, address: 'пр. Мира, 1' })
    const waiting = (await create('R-1')).json.order
    const assembling = (await create('R-2')).json.order
    await h.request('PATCH', `/shops/${shop}/orders/${assembling.id}`, { status: 'accepted' })
    await h.request('PATCH', `/shops/${shop}/orders/${assembling.id}`, { status: 'assembling' })
    await h.services.dispatcher.runOnce()
    // due exactly `lead` before the window starts (to the minute the window is written in)
    const [due] = await h.sql<{ d: Date }[]>`select next_attempt_at as d from telegram_outbox where order_id = ${waiting.id} and kind = 'delivery_reminder'`
    const windowStart = new Date(Math.floor(start.getTime() / 60_000) * 60_000)
    expect(due!.d.getTime()).toBe(windowStart.getTime() - 60 * 60_000)
    // the clock reaches it: both reminders fall due; two dispatchers race
    await h.sql`update telegram_outbox set next_attempt_at = now() where shop_id = ${shop} and kind = 'delivery_reminder'`
    const before = h.fake.sent(token).length
    const replica = await createHarness({ restartOf: { db: h.db, cipherKey: h.cipherKey }, fake: h.fake })
    for (let i = 0; i < 20; i++) {
      const claimed = await Promise.all([h.services.dispatcher.runOnce(), replica.services.dispatcher.runOnce()])
      if (claimed[0] + claimed[1] === 0) break
    }
    await replica.stop()
    const reminders = h.fake
      .sent(token)
      .slice(before)
      .filter((c) => String(c.payload.text).startsWith('⏰'))
    expect(reminders).toHaveLength(1)
    const r = reminders[0]!
    expect(String(r.payload.text)).toMatch(/Через \d+ минут[аы]? доставка<\/b>, заказ ещё не собран/)
    expect(String(r.payload.text)).toContain('R-1')
    const [msg] = await h.sql<{ message_id: string }[]>`select message_id from telegram_messages where order_id = ${waiting.id}`
    expect((r.payload.reply_parameters as { message_id: number }).message_id).toBe(Number(msg!.message_id))
    const states = await h.sql<
      { order_id: string; state: string }[]
    >`select order_id, state from telegram_outbox where shop_id = ${shop} and kind = 'delivery_reminder' order by order_id`
    expect(states.map((s) => s.state)).toEqual(['done', 'done'])
  })
})
