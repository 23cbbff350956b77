import { describe, expect, test } from 'bun:test'
import path from 'node:path'
import { ConfigError, loadConfig } from '../../src/config'

const ROOT = path.resolve(import.meta.dir, '../../..')

describe('configuration', () => {
  const bad: [string, string][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['ADMIN_TOKEN', 'short'],
    ['TELEGRAM_MODE', 'live'],
    ['TELEGRAM_API_ROOT', 'ftp://api'],
    ['PUBLIC_URL', 'not a url'],
    ['ENCRYPTION_KEY', 'too-short'],
  ]
  for (const [variable, value] of bad) {
    test(`${variable}=${value} is refused with a line naming ${variable}`, () => {
      let err: unknown
      try {
        loadConfig({ [variable]: value })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as Error).message).toStartWith(`Invalid configuration: ${variable} `)
      expect((err as Error).message.includes('\n')).toBe(false)
    })
  }

  test('defaults follow the contract; HOST is loopback without ADMIN_TOKEN', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({ PORT: 3000, TELEGRAM_MODE: 'mock', TELEGRAM_API_ROOT: 'https://api.telegram.org', host: '127.0.0.1', DATA_DIR: './data' })
    expect(loadConfig({ ADMIN_TOKEN: 'long-enough-token-0123456789abcdef' }).host).toBe('0.0.0.0')
    expect(loadConfig({ ADMIN_TOKEN: 'long-enough-token-0123456789abcdef', HOST: '127.0.0.2' }).host).toBe('127.0.0.2')
    expect(loadConfig({ PUBLIC_URL: '' }).PUBLIC_URL).toBeUndefined()
    expect(loadConfig({ PUBLIC_URL: 'https://shop.example.com/' }).PUBLIC_URL).toBe('https://shop.example.com')
    expect(loadConfig({ ENCRYPTION_KEY: 'ab'.repeat(32) }).encryptionKey!.length).toBe(32)
  })

  test('the real start stops with one clear line for a bad value', async () => {
    const p = Bun.spawn(['bun', 'api/src/main.ts'], { cwd: ROOT, env: { ...process.env, PORT: 'eighty' }, stdout: 'pipe', stderr: 'pipe' })
    expect(await p.exited).toBe(1)
    const err = (await new Response(p.stderr).text()).trim()
    expect(err.split('\n')).toEqual([expect.stringContaining('Invalid configuration: PORT')])
  })
})
