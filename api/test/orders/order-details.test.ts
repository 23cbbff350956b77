import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { renderOrderMessage, TELEGRAM_TEXT_LIMIT } from '../../src/notifications'
import { parseSlot } from '../../src/orders/schema'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'

let h: Harness
let shopId: number
const token = makeToken()
beforeAll(async () => {
  h = await createHarness()
  shopId = await h.shop('Цветы на Мира')
  await h.connect(shopId, token, '6100001')
})
afterAll(() => h.close())

const FULL = {
  number: 'FD-1',
  total: '7450.00',
  customerName: 'Анна Петрова',
  customerPhone: '+7 900 111-22-33',
  recipientName: 'Мария',
  recipientPhone: '+7 900 444-55-66',
  deliveryDate: '2026-03-08',
  deliveryTime: '14:00-16:00',
  address: 'ул. Ленина, 1, кв. 5',
  items: [
    { name: 'Роза красная 60 см', quantity: 15, price: '3750' },
    { name: 'Эвкалипт', quantity: 3, price: 900 },
    { name: 'Упаковка крафт', quantity: 1 },
  ],
  cardText: 'С 8 Марта! Люблю, твой С.',
  surprise: true,
}

describe('what is in the bouquet', () => {
  test('items, postcard, surprise and a delivery window are stored, returned and listed', async () => {
    const r = await h.post(`/shops/${shopId}/orders`, FULL)
    expect(r.status).toBe(201)
    expect(r.json.order).toMatchObject({
      deliveryTime: '14:00–16:00',
      items: [
        { name: 'Роза красная 60 см', quantity: 15, price: '3750' },
        { name: 'Эвкалипт', quantity: 3, price: '900' },
        { name: 'Упаковка крафт', quantity: 1, price: null },
      ],
      cardText: 'С 8 Марта! Люблю, твой С.',
      surprise: true,
    })
    const [row] = await h.sql`select delivery_slot_from::text as f, delivery_slot_to::text as t from orders where id = ${r.json.order.id}`
    expect(row).toEqual({ f: '14:00:00', t: '16:00:00' })
    const listed = (await h.get(`/shops/${shopId}/orders`)).json.items.find((o: { id: number }) => o.id === r.json.order.id)
    expect(listed.items).toHaveLength(3)
  })

  test('the message reads in a florist’s order: surprise, when and where, what to assemble, postcard, money and people (snapshot)', () => {
    const text = renderOrderMessage(
      { ...FULL, deliveryTime: '14:00–16:00', items: FULL.items.map((i) => ({ ...i, price: i.price === undefined ? null : String(i.price) })) },
      'Цветы на Мира',
      'Europe/Moscow',
    )
    expect(text).toBe(
      [
        '🌸 <b>Новый заказ №FD-1</b> · Цветы на Мира',
        '🤫 <b>Сюрприз — не звонить получателю!</b>',
        '🚚 <b>Доставка: 08.03.2026, 14:00–16:00</b>',
        '📍 Адрес: ул. Ленина, 1, кв. 5',
        'Получатель: Мария',
        '',
        '💐 <b>Собрать:</b>',
        '• Роза красная 60 см × 15 — 3\u00a0750\u00a0₽',
        '• Эвкалипт × 3 — 900\u00a0₽',
        '• Упаковка крафт × 1',
        '',
        '💌 Открытка: «С 8 Марта! Люблю, твой С.»',
        '',
        '💰 Сумма: <b>7\u00a0450\u00a0₽</b>',
        '👤 Клиент: Анна Петрова, +7 900 111-22-33',
      ].join('\n'),
    )
  })

  test('50 items with long names stay under 4096 characters, cut with «и ещё N позиций» only because they must be', () => {
    const items = Array.from({ length: 50 }, (_, i) => ({
      name: `Пион кустовой сорта «Сара Бернар» №${i + 1} ${'🌸'.repeat(40)}`,
      quantity: i + 1,
      price: '1000',
    }))
    const text = renderOrderMessage({ number: 'BIG', total: '50000', customerName: 'Оптовик', items }, 'Лавка')
    expect(text.length).toBeLessThan(TELEGRAM_TEXT_LIMIT)
    const shown = text.split('\n').filter((l) => l.startsWith('• ')).length
    expect(shown).toBeLessThan(50)
    expect(text).toContain(`и ещё ${50 - shown} позиц`)
    expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)).toBe(false)
    // and a short list is never cut
    const few = renderOrderMessage({ number: 'S', total: '1', customerName: 'x', items: items.slice(0, 3) }, 'Лавка')
    expect(few).not.toContain('и ещё')
  })

  test('an address of emoji is cut without leaving half a character', () => {
    const text = renderOrderMessage({ number: 'E', total: '1', customerName: 'x', address: '🌹'.repeat(3000), comment: '💐'.repeat(3000) }, 'Лавка')
    expect(text.length).toBeLessThan(TELEGRAM_TEXT_LIMIT)
    expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)).toBe(false)
  })

  test('bad details are 422 naming the field, and nothing is stored', async () => {
    const n = async () => (await h.sql<{ n: number }[]>`select count(*)::int as n from orders where shop_id = ${shopId}`)[0]!.n
    const before = await n()
    const bad: [Record<string, unknown>, string][] = [
      [{ items: Array.from({ length: 51 }, () => ({ name: 'x', quantity: 1 })) }, 'items'],
      [{ items: [{ name: '', quantity: 1 }] }, 'items.0.name'],
      [{ items: [{ name: 'x', quantity: 0 }] }, 'items.0.quantity'],
      [{ items: [{ name: 'x', quantity: 1.5 }] }, 'items.0.quantity'],
      [{ items: [{ name: 'x', quantity: 1, price: -5 }] }, 'items.0.price'],
      [{ cardText: 'я'.repeat(501) }, 'cardText'],
      [{ surprise: 'yes' }, 'surprise'],
      [{ deliveryTime: '25:00-26:00' }, 'deliveryTime'],
      [{ deliveryTime: '16:00–14:00' }, 'deliveryTime'],
    ]
    for (const [extra, field] of bad) {
      const r = await h.post(`/shops/${shopId}/orders`, { number: `BAD-${field}`, total: 10, customerName: 'x', ...extra })
      expect(r.status, JSON.stringify(extra).slice(0, 80)).toBe(422)
      expect(
        r.json.details.map((d: { path: string }) => d.path),
        field,
      ).toContain(field)
    }
    expect(await n()).toBe(before)
  })

  test('a delivery window is parsed in the three accepted forms; free text is kept without a window', () => {
    expect(parseSlot('14:00–16:00')).toEqual({ text: '14:00–16:00', from: '14:00', to: '16:00' })
    expect(parseSlot('9:30-11:00')).toEqual({ text: '09:30–11:00', from: '09:30', to: '11:00' })
    expect(parseSlot('14:00')).toEqual({ text: '14:00', from: '14:00', to: null })
    expect(parseSlot('утром')).toBeNull()
    expect(parseSlot('24:00')).toBe('invalid')
  })
})

describe('shop settings for the florist’s day', () => {
  test('defaults, a change, 422s that change nothing, and times in messages in the shop’s zone', async () => {
    const shop = await h.shop('Владивосток')
    expect((await h.get(`/shops/${shop}/telegram/settings`)).json).toEqual({
      timeZone: 'Europe/Moscow',
      reminderLeadMinutes: 60,
      summaryTime: '08:00',
      acceptWithinMinutes: 15,
    })
    const r = await h.request('PATCH', `/shops/${shop}/telegram/settings`, { timeZone: 'Asia/Vladivostok', reminderLeadMinutes: 90 })
    expect(r.json).toEqual({ timeZone: 'Asia/Vladivostok', reminderLeadMinutes: 90, summaryTime: '08:00', acceptWithinMinutes: 15 })
    for (const body of [{ timeZone: 'Mars/Olympus' }, { reminderLeadMinutes: 2 }, { summaryTime: '8am' }, { other: 1 }]) {
      expect((await h.request('PATCH', `/shops/${shop}/telegram/settings`, body)).status).toBe(422)
    }
    expect((await h.get(`/shops/${shop}/telegram/settings`)).json.timeZone).toBe('Asia/Vladivostok')
    // «Принят: Ольга, HH:MM» is written in the shop's own time
    const at = new Date('2026-03-08T01:05:00Z')
    const text = renderOrderMessage(
      { number: 'V', total: '1', customerName: 'x', status: 'accepted', acceptedBy: 'Ольга', acceptedAt: at },
      'Лавка',
      'Asia/Vladivostok',
    )
    expect(text).toContain('<b>Принят</b>: Ольга, 11:05')
  })
})
