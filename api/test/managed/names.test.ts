import { describe, expect, test } from 'bun:test'
import { BOT_USERNAME_RE, suggestName, suggestUsername, transliterate } from '../../src/managed'

/** What the `request_managed_bot` button suggests, from the shop's name. */
describe('suggested name and username', () => {
  test('Russian is transliterated; the username is valid for Telegram and ends in bot', () => {
    expect(transliterate('Щука и ёжик, Юля')).toBe('shchuka i ezhik, yulya')
    expect(suggestUsername('Цветы на Ленина', 42)).toBe('tsvety_na_lenina_42_bot')
    expect(suggestUsername('Flower Shop №1!', 7)).toBe('flower_shop_1_7_bot')
  })

  test('any name gives 5–32 characters of a–z, 0–9 and _, a letter first', () => {
    const names = ['', '   ', '123', '🌸🌸🌸', '_Цветы_', 'Очень длинное название цветочного магазина на углу', 'ъь', 'A', 'ЦВЕТЫ  —  ДОСТАВКА 24/7']
    for (const name of names)
      for (const id of [1, 42, 987654321]) {
        const u = suggestUsername(name, id)
        expect(u, `${name} ${id}`).toMatch(BOT_USERNAME_RE)
        expect(u.length, u).toBeGreaterThanOrEqual(5)
        expect(u.length, u).toBeLessThanOrEqual(32)
        expect(u.includes('__'), u).toBe(false)
      }
  })

  test('the display name is the shop’s, at most 64 characters, never empty', () => {
    expect(suggestName('  Мята   и  лён ')).toBe('Мята и лён')
    expect(Array.from(suggestName('Ж'.repeat(100))).length).toBe(64)
    expect(suggestName('   ')).toBe('Заказы магазина')
  })
})
