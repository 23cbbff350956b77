import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { GrammyError } from 'grammy'
import { errorCodeOf } from '../../src/bot-api'
import { classify } from '../../src/bot-api/grammy-client'
import { MessageKinds, Sender, defaultSenderConfig, inQuietHours, paceMs } from '../../src/notifications'
import { acceptCallbackData, parseAcceptCallback } from '../../src/orders/buttons'
import { createTokenCipher, maskChatId, maskToken } from '../../src/platform/crypto'
import { explainError } from '../../../ui/src/format'

/** The pure functions the rest stands on, each with its edge cases. */
const grammyError = (error_code: number, description: string, parameters: Record<string, unknown> = {}) =>
  new GrammyError('call failed', { ok: false, error_code, description, parameters } as never, 'sendMessage', {})
const TOKEN = `123456:${'A'.repeat(35)}`

describe('failure classification', () => {
  test('Telegram answers map to transient, migrated or terminal failures and to the page’s error codes', () => {
    const cases: [GrammyError, string, string][] = [
      [grammyError(429, 'Too Many Requests: retry after 7', { retry_after: 7 }), 'transient', 'rate_limited'],
      [grammyError(502, 'Bad Gateway'), 'transient', 'telegram_unavailable'],
      [grammyError(400, 'Bad Request: group chat was upgraded', { migrate_to_chat_id: -100123 }), 'migrated', 'chat_not_found'],
      [grammyError(401, 'Unauthorized'), 'terminal', 'token_revoked'],
      [grammyError(403, 'Forbidden: bot was blocked by the user'), 'terminal', 'bot_blocked'],
      [grammyError(403, 'Forbidden: bot was kicked from the group chat'), 'terminal', 'bot_kicked'],
      [grammyError(403, 'Forbidden: not enough rights'), 'terminal', 'forbidden'],
      [grammyError(400, 'Bad Request: chat not found'), 'terminal', 'chat_not_found'],
    ]
    for (const [err, kind, code] of cases) {
      const f = classify(err, TOKEN)
      expect(f.kind, err.description).toBe(kind as never)
      expect(errorCodeOf(f), err.description).toBe(code as never)
    }
    const retry = classify(grammyError(429, 'Too Many Requests', { retry_after: 7 }), TOKEN)
    expect(retry.kind === 'transient' && retry.retryAfterSec).toBe(7)
  })

  test('a token inside an error never survives classification', () => {
    const f = classify(grammyError(400, `Bad Request: something about /bot${TOKEN}/sendMessage`), TOKEN)
    expect(f.reason).not.toContain(TOKEN.split(':')[1]!)
  })
})

describe('retry backoff and pacing', () => {
  test('backoff doubles from the base, is capped, and jitters within ±50 %', () => {
    const at = (r: number) =>
      new Sender({
        sql: null as never,
        client: null as never,
        cipher: null as never,
        log: null as never,
        config: { ...defaultSenderConfig, baseDelayMs: 1000, maxDelayMs: 8000 },
        kinds: new MessageKinds(),
        random: () => r,
      })
    expect([1, 2, 3, 4, 5, 9].map((n) => at(0.5).backoffMs(n))).toEqual([1000, 2000, 4000, 8000, 8000, 8000])
    expect(at(0).backoffMs(3)).toBe(2000)
    expect(at(0.999).backoffMs(3)).toBe(5996)
  })

  test('groups and channels are spaced by the group interval, private chats by the chat interval', () => {
    const pacing = { chatIntervalMs: 1000, groupIntervalMs: 3000, groupPerMinute: 20 }
    expect(paceMs('123456', pacing)).toBe(1000)
    expect(paceMs('-1001234567890', pacing)).toBe(3000)
    expect(paceMs('@channel', pacing)).toBe(3000)
  })

  test('quiet hours in the shop’s zone, across midnight too', () => {
    const at = (iso: string) => new Date(iso)
    expect(inQuietHours(at('2026-03-07T20:30:00Z'), 'Europe/Moscow', '22:00', '08:00')).toBe(true) // 23:30 MSK
    expect(inQuietHours(at('2026-03-07T04:59:00Z'), 'Europe/Moscow', '22:00', '08:00')).toBe(true) // 07:59 MSK
    expect(inQuietHours(at('2026-03-07T05:00:00Z'), 'Europe/Moscow', '22:00', '08:00')).toBe(false) // 08:00 MSK
    expect(inQuietHours(at('2026-03-07T10:00:00Z'), 'Asia/Vladivostok', '13:00', '15:00')).toBe(false) // 20:00 there
    expect(inQuietHours(at('2026-03-07T04:00:00Z'), 'Asia/Vladivostok', '13:00', '15:00')).toBe(true) // 14:00 there
    expect(inQuietHours(at('2026-03-07T04:00:00Z'), 'Asia/Vladivostok', null, null)).toBe(false)
  })
})

describe('masking and callback data', () => {
  test('tokens and chat ids are recognisable, never usable', () => {
    expect(maskToken(TOKEN)).toBe('123456:AA…AAA')
    expect(maskChatId('-1001234567890')).toBe('-100…7890')
    expect(maskChatId('123456789')).toBe('12…6789')
    expect(maskChatId('1234')).toBe('••••')
    expect(maskChatId('@shop_news')).toBe('@sho…ws')
    expect(maskChatId(null)).toBeNull()
  })

  test('a signed «Принять» is accepted for its own shop and order only', () => {
    const cipher = createTokenCipher(randomBytes(32))
    const data = acceptCallbackData(cipher, 1, 42)
    expect(data.length).toBeLessThanOrEqual(64) // Telegram's callback_data limit
    expect(parseAcceptCallback(cipher, 1, data)).toBe(42)
    expect(parseAcceptCallback(cipher, 2, data)).toBeNull()
    expect(parseAcceptCallback(cipher, 1, data.replace(':42:', ':43:'))).toBeNull()
    expect(parseAcceptCallback(createTokenCipher(randomBytes(32)), 1, data)).toBeNull()
    expect(parseAcceptCallback(cipher, 1, undefined)).toBeNull()
  })
})

describe('the page’s advice', () => {
  test('is picked by the machine code, whatever language the reason is in', () => {
    expect(explainError('Forbidden: bot was blocked by the user', 'bot_blocked').title).toBe('Бот заблокирован в Telegram')
    expect(explainError('anything', 'token_revoked').title).toBe('Telegram не принимает токен бота')
    expect(explainError('anything', 'rate_limited').action).toContain('повторится автоматически')
    expect(explainError('Bad Request: chat not found').title).toBe('Чат не найден')
  })
})
