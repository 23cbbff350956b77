import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { reencryptTokens } from '../../src/connect'
import { reencryptWebhookSecrets } from '../../src/events'
import { createTokenCipher, keyIdOf, legacyButtonKey, loadButtonKey } from '../../src/platform/crypto'
import { makeToken } from '../fake-telegram'
import { createHarness, one } from '../helpers'

const storedToken = async (h: { sql: import('../../src/platform/db/client').Sql }, shopId: number) =>
  one(await h.sql<{ bot_token: string }[]>`select bot_token from telegram_integrations where shop_id = ${shopId}`).bot_token

describe('encryption keys', () => {
  test('rotation: the previous key still reads, re-encryption moves every token to the new key, then the old key can go', async () => {
    const k1 = randomBytes(32)
    const k2 = randomBytes(32)
    const first = await createHarness({ cipherKeys: [k1] })
    const token = makeToken()
    await first.connect(1, token, '4242')
    const endpoint = await first.post('/webhooks/endpoints', { url: 'http://127.0.0.1:9/hook', events: ['webhook.test'] })
    expect(endpoint.status).toBe(201)
    expect(await storedToken(first, 1)).toStartWith(`v2:${keyIdOf(k1)}:`)
    await first.stop()

    const rotated = await createHarness({ restartOf: { db: first.db, cipherKey: k2 }, cipherKeys: [k2, k1], fake: first.fake })
    const r = await rotated.post('/shops/1/orders', { number: 'ROT-1', total: 10, customerName: 'Анна' })
    expect(r.json.telegramStatus).toBe('sent') // read with the previous key
    const report = await reencryptTokens(rotated.sql, createTokenCipher([k2, k1]))
    expect(report).toEqual({ reencrypted: 1, unreadable: 0, skipped: 0 })
    expect(await storedToken(rotated, 1)).toStartWith(`v2:${keyIdOf(k2)}:`)
    expect(await reencryptTokens(rotated.sql, createTokenCipher([k2, k1]))).toEqual({ reencrypted: 0, unreadable: 0, skipped: 0 })
    // webhook endpoint secrets move too, and still decrypt to the secret the platform was given
    expect(await reencryptWebhookSecrets(rotated.sql, createTokenCipher([k2, k1]))).toEqual({ reencrypted: 1, unreadable: 0 })
    const stored = one(await rotated.sql<{ secret: string }[]>`select secret from webhook_endpoints where id = ${endpoint.json.id}`).secret
    expect(stored).toStartWith(`v2:${keyIdOf(k2)}:`)
    expect(createTokenCipher([k2]).decrypt(stored, 'webhook-endpoint')).toBe(endpoint.json.secret)
    expect(await reencryptWebhookSecrets(rotated.sql, createTokenCipher([k2, k1]))).toEqual({ reencrypted: 0, unreadable: 0 })
    await rotated.stop()

    const onlyNew = await createHarness({ restartOf: { db: first.db, cipherKey: k2 }, cipherKeys: [k2], fake: first.fake })
    const r2 = await onlyNew.post('/shops/1/orders', { number: 'ROT-2', total: 10, customerName: 'Анна' })
    expect(r2.json.telegramStatus).toBe('sent')
    await onlyNew.stop()
    first.fake.stop()
    await first.db.drop()
  })

  test('the shop id is bound into the ciphertext: a token copied to another shop’s row is unreadable', async () => {
    const h = await createHarness()
    try {
      const other = await h.shop()
      await h.connect(1, makeToken(), '5001')
      await h.connect(other, makeToken(), '5002')
      const [a, b] = [await storedToken(h, 1), await storedToken(h, other)]
      await h.sql`update telegram_integrations set bot_token = ${b} where shop_id = 1`
      await h.sql`update telegram_integrations set bot_token = ${a} where shop_id = ${other}`
      const r = await h.post('/shops/1/orders', { number: 'AAD-1', total: 10, customerName: 'Анна' })
      expect(r.json.telegramStatus).toBe('failed')
      expect(r.json.telegram.errorCode).toBe('token_unreadable')
    } finally {
      await h.close()
    }
  })

  test('rows written before versioned keys (v1) are still read', () => {
    const key = randomBytes(32)
    // the v1 format: AES-256-GCM without AAD, `v1:<iv>:<tag>:<data>`
    const { createCipheriv } = require('node:crypto') as typeof import('node:crypto')
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', key, iv)
    const data = Buffer.concat([c.update('123:secret', 'utf8'), c.final()])
    const v1 = ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), data.toString('base64url')].join(':')
    expect(createTokenCipher([randomBytes(32), key]).decrypt(v1, 7)).toBe('123:secret')
  })

  test('buttons keep verifying across an ENCRYPTION_KEY rotation: their key is kept apart, seeded once', async () => {
    const h = await createHarness()
    try {
      const k1 = randomBytes(32)
      const k2 = randomBytes(32)
      const kept = await loadButtonKey(h.sql, legacyButtonKey(k1))
      expect(kept.equals(legacyButtonKey(k1))).toBe(true)
      // a later start with a rotated ENCRYPTION_KEY finds the same button key
      const again = await loadButtonKey(h.sql, legacyButtonKey(k2))
      expect(again.equals(kept)).toBe(true)
      const before = createTokenCipher([k1], kept).sign('accept:1:42')
      expect(createTokenCipher([k2, k1], again).sign('accept:1:42')).toBe(before)
      // and it is what buttons of messages sent before this change were signed with
      expect(createTokenCipher([k1]).sign('accept:1:42')).toBe(before)
    } finally {
      await h.close()
    }
  })
})
