import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, type Harness } from '../helpers'

describe('connect codes', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(() => h.close())

  const codeRow = async (shopId: number) =>
    (
      await h.sql<{ start_code: string | null; ttl: number | null }[]>`
      select start_code, extract(epoch from start_code_expires_at - now())::int as ttl from telegram_integrations where shop_id = ${shopId}`
    )[0]!

  test('a connect link lives 30 minutes', async () => {
    const shop = await h.shop()
    const r = await h.connect(shop, makeToken())
    expect(r.connectLink).toMatch(/\?start=/)
    const row = await codeRow(shop)
    expect(row.ttl).toBeGreaterThan(29 * 60)
    expect(row.ttl).toBeLessThanOrEqual(30 * 60)
  })

  test('no code is issued while a chat is bound, also when the token is saved again; asking for a link issues one', async () => {
    const shop = await h.shop()
    const token = makeToken()
    const first = await h.connect(shop, token, '777001')
    expect(first.connectLink).toBeNull()
    expect((await codeRow(shop)).start_code).toBeNull()
    await h.connect(shop, token)
    expect((await codeRow(shop)).start_code).toBeNull()
    const link = await h.post(`/shops/${shop}/telegram/link`)
    expect(link.status).toBe(200)
    expect(link.json.connectLink).toMatch(/\?start=/)
    expect((await codeRow(shop)).start_code).not.toBeNull()
  })

  test('a new bot (different token owner) loses the old chat and gets a fresh code', async () => {
    const shop = await h.shop()
    await h.connect(shop, makeToken(), '777002')
    const other = await h.connect(shop, makeToken())
    expect(other.chatId).toBeNull()
    expect(other.connectLink).toMatch(/\?start=/)
  })
})
