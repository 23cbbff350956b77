import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import { replaceEncryptedToken, tokensNotUnderKey } from './repository'

export type ReencryptReport = { reencrypted: number; unreadable: number; skipped: number }

/**
 * Moves every stored bot token to the newest key, batch by batch. Idempotent: rows already under it
 * are not touched, so it can be run again (or on two machines) safely. A token no configured key can
 * read is counted, left as it is and reported, never guessed at.
 */
export async function reencryptTokens(sql: Sql, cipher: TokenCipher, batch = 200): Promise<ReencryptReport> {
  const report: ReencryptReport = { reencrypted: 0, unreadable: 0, skipped: 0 }
  let after = '0'
  for (;;) {
    const rows = await tokensNotUnderKey(sql, cipher.currentKeyId, after, batch)
    if (rows.length === 0) return report
    for (const r of rows) {
      after = r.id
      let plain: string
      try {
        plain = cipher.decrypt(r.bot_token, r.shop_id)
      } catch {
        report.unreadable++
        continue
      }
      if (await replaceEncryptedToken(sql, r.id, r.bot_token, cipher.encrypt(plain, r.shop_id))) report.reencrypted++
      else report.skipped++
    }
  }
}
