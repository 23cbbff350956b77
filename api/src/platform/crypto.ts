import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { decodeKey } from '../config'
import type { Logger } from './log'

/**
 * Bot tokens at rest: AES-256-GCM, stored as `v1:<iv>:<tag>:<ciphertext>` (base64url). The version
 * prefix names the key, so a future key rotation can decrypt old rows while writing new ones.
 */
export type TokenCipher = {
  encrypt(plain: string): string
  decrypt(stored: string): string
  /** A short MAC (base64url) under a subkey of the same secret: callback data of buttons is signed with it. */
  sign(data: string, length?: number): string
}

export function createTokenCipher(key: Buffer): TokenCipher {
  if (key.length !== 32) throw new Error('encryption key must be 32 bytes')
  const macKey = createHmac('sha256', key).update('callback-data-v1').digest()
  return {
    sign(data, length = 12) {
      return createHmac('sha256', macKey).update(data).digest('base64url').slice(0, length)
    },
    encrypt(plain) {
      const iv = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', key, iv)
      const data = Buffer.concat([c.update(plain, 'utf8'), c.final()])
      return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), data.toString('base64url')].join(':')
    },
    decrypt(stored) {
      const [v, iv, tag, data] = stored.split(':')
      if (v !== 'v1' || !iv || !tag || data === undefined) throw new Error('unknown token encryption format')
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      d.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8')
    },
  }
}

/** ENCRYPTION_KEY, or in development a key generated once under the data dir (with a warning). */
export function resolveEncryptionKey(configured: Buffer | null, dataDir: string, log: Logger): Buffer {
  if (configured) return configured
  const file = path.join(path.resolve(dataDir), 'encryption.key')
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 })
  }
  const key = decodeKey(readFileSync(file, 'utf8'))
  if (!key) throw new Error(`${file} does not hold a valid key; delete it or set ENCRYPTION_KEY`)
  log.warn('encryption_key_from_file', { file, hint: 'set ENCRYPTION_KEY in production; losing this file makes stored bot tokens unreadable' })
  return key
}

/** `123456:AA…xyz`: enough to recognise a token, never enough to use it. */
export function maskToken(token: string): string {
  const [id, secret = ''] = token.split(':')
  return `${id}:${secret.slice(0, 2)}…${secret.slice(-3)}`
}

/** `-100…4567`, `12…89`, `@sho…`: recognisable, not copyable. */
export function maskChatId(chatId: string | null): string | null {
  if (!chatId) return null
  if (chatId.startsWith('@')) return chatId.length <= 5 ? chatId : `${chatId.slice(0, 4)}…${chatId.slice(-2)}`
  const neg = chatId.startsWith('-')
  const digits = neg ? chatId.slice(1) : chatId
  if (digits.length <= 4) return `${neg ? '-' : ''}${'•'.repeat(digits.length)}`
  return `${neg ? '-' : ''}${digits.slice(0, digits.startsWith('100') ? 3 : 2)}…${digits.slice(-4)}`
}

export const randomCode = (bytes = 18) => randomBytes(bytes).toString('base64url')
export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
