import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../src/config'

/** MANAGER_BOT_TOKEN: optional; a malformed one stops the start naming the variable, never showing the value. */
describe('MANAGER_BOT_TOKEN', () => {
  test('unset or empty turns the path off; a token-shaped value is taken', () => {
    expect(loadConfig({}).MANAGER_BOT_TOKEN).toBeUndefined()
    expect(loadConfig({ MANAGER_BOT_TOKEN: '  ' }).MANAGER_BOT_TOKEN).toBeUndefined()
    const token = `123456789:${'A'.repeat(35)}`
    expect(loadConfig({ MANAGER_BOT_TOKEN: ` ${token} ` }).MANAGER_BOT_TOKEN).toBe(token)
  })

  test('a malformed value is one clear error that does not repeat it', () => {
    const secret = 'not-a-token-but-a-secret-42'
    try {
      loadConfig({ MANAGER_BOT_TOKEN: secret })
      throw new Error('accepted a malformed token')
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).variable).toBe('MANAGER_BOT_TOKEN')
      expect((err as Error).message).toContain('@BotFather')
      expect((err as Error).message).not.toContain(secret)
    }
  })
})
