import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { decodeKey } from '../config'
import type { Sql } from './db/client'
import type { Logger } from './log'

/**
 * Bot tokens at rest: AES-256-GCM. New rows are `v2:<keyId>:<iv>:<tag>:<ciphertext>` (base64url) under
 * the newest key, with the shop id bound in as additional authenticated data, so a ciphertext copied
 * into another shop's row does not decrypt. `keyId` names the key, so after a rotation older rows are
 * still read with a previous key (`ENCRYPTION_KEYS_PREVIOUS`) until `bun run keys:reencrypt` moves them.
 * `v1:<iv>:<tag>:<ciphertext>` rows (before versioned keys; no AAD) are read with any known key.
 */
export type TokenCipher = {
  encrypt(plain: string, shopId: number | string): string
  decrypt(stored: string, shopId: number | string): string
  /** The id of the key new ciphertexts use (`v2:<id>:…`): rows without it need re-encryption. */
  readonly currentKeyId: string
  /** A short MAC (base64url) for button callback data, under a key of its own (see `buttonKey`). */
  sign(data: string, length?: number): string
}

/** A short public fingerprint of a key: safe to store next to ciphertexts. */
export const keyIdOf = (key: Buffer) => createHash('sha256').update(key).digest('base64url').slice(0, 8)

/** The button MAC key as it was derived before it was kept on its own (messages already sent carry it). */
export const legacyButtonKey = (encryptionKey: Buffer) => createHmac('sha256', encryptionKey).update('callback-data-v1').digest()

/**
 * `keys`: the newest first (it encrypts), then previous ones (they only decrypt). `macKey`: the button
 * MAC key, kept apart from the encryption keys so rotating one never breaks the other; defaults to the
 * legacy derivation from the newest key (tests, tools).
 */
export function createTokenCipher(keys: Buffer | Buffer[], macKey?: Buffer): TokenCipher {
  const ring = Array.isArray(keys) ? keys : [keys]
  if (ring.length === 0 || ring.some((k) => k.length !== 32)) throw new Error('encryption keys must be 32 bytes')
  const byId = new Map(ring.map((k) => [keyIdOf(k), k]))
  const current = ring[0]!
  const currentKeyId = keyIdOf(current)
  const mac = macKey ?? legacyButtonKey(current)
  const aad = (shopId: number | string) => Buffer.from(`shop:${shopId}`)
  const open = (key: Buffer, iv: string, tag: string, data: string, shopAad: Buffer | null) => {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
    if (shopAad) d.setAAD(shopAad)
    d.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8')
  }
  return {
    currentKeyId,
    sign(data, length = 12) {
      return createHmac('sha256', mac).update(data).digest('base64url').slice(0, length)
    },
    encrypt(plain, shopId) {
      const iv = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', current, iv)
      c.setAAD(aad(shopId))
      const data = Buffer.concat([c.update(plain, 'utf8'), c.final()])
      return ['v2', currentKeyId, iv.toString('base64url'), c.getAuthTag().toString('base64url'), data.toString('base64url')].join(':')
    },
    decrypt(stored, shopId) {
      const parts = stored.split(':')
      if (parts[0] === 'v2' && parts.length === 5) {
        const key = byId.get(parts[1]!)
        if (!key) throw new Error(`token encrypted with an unknown key ${parts[1]}: add it to ENCRYPTION_KEYS_PREVIOUS`)
        return open(key, parts[2]!, parts[3]!, parts[4]!, aad(shopId))
      }
      if (parts[0] === 'v1' && parts.length === 4) {
        for (const key of ring) {
          try {
            return open(key, parts[1]!, parts[2]!, parts[3]!, null)
          } catch {}
        }
        throw new Error('token unreadable with every configured key')
      }
      throw new Error('unknown token encryption format')
    },
  }
}

/**
 * The button MAC key, kept in the database (`app_secrets`), shared by every replica. Created once,
 * from `seed`: the key buttons were signed with before it was kept apart, so they keep verifying.
 */
export async function loadButtonKey(sql: Sql, seed: Buffer): Promise<Buffer> {
  const [row] = await sql<{ value: Buffer }[]>`
    with ins as (insert into app_secrets (name, value) values ('button_mac', ${seed}) on conflict (name) do nothing returning value)
    select value from ins union all select value from app_secrets where name = 'button_mac' limit 1`
  return Buffer.from(row!.value)
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
