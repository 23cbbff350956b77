import { createHash, randomBytes } from 'node:crypto'

/**
 * The shapes of our bearer credentials. A prefix names the kind, so a leaked string is recognisable
 * (log redaction, secret scanners) and the server can tell which table to look in without trying all.
 */
export const API_KEY_PREFIX = 'pfk_'
export const SESSION_PREFIX = 'pfs_'

/** 32 random bytes: far beyond guessing, and the hash below needs no salt or slow KDF for that reason. */
const secret = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`

/** Only this is stored: a database leak yields no usable credential. */
export const hashCredential = (credential: string) => createHash('sha256').update(credential).digest('hex')

/** A new POS key: shown to the operator once; `prefix` (the first 12 characters) is kept visible. */
export function newApiKey(): { key: string; prefix: string; hash: string } {
  const key = secret(API_KEY_PREFIX)
  return { key, prefix: key.slice(0, 12), hash: hashCredential(key) }
}

export function newSessionToken(): { token: string; hash: string } {
  const token = secret(SESSION_PREFIX)
  return { token, hash: hashCredential(token) }
}

/** `Authorization: Bearer <credential>` → the credential, or null. */
export function bearerOf(header: string | null): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return m ? m[1]! : null
}
