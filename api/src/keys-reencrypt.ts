import path from 'node:path'
import { ConfigError, loadConfig } from './config'
import { reencryptTokens } from './connect'
import { reencryptWebhookSecrets } from './events'
import { createTokenCipher, legacyButtonKey, resolveEncryptionKey } from './platform/crypto'
import { createSql } from './platform/db/client'
import { startEmbeddedPostgres } from './platform/db/embedded'
import { migrate } from './platform/db/migrate'
import { createLogger } from './platform/log'

/**
 * `bun run keys:reencrypt`: after a rotation (new ENCRYPTION_KEY, the old one in ENCRYPTION_KEYS_PREVIOUS)
 * re-encrypts every stored bot token and webhook endpoint secret with the newest key; then the previous key can be dropped.
 * Uses the same configuration as the service (DATABASE_URL, or the embedded database under DATA_DIR).
 */
let config
try {
  config = loadConfig()
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message)
    process.exit(1)
  }
  throw err
}
const log = createLogger(config.LOG_LEVEL)
const embedded = config.DATABASE_URL ? null : await startEmbeddedPostgres({ dataDir: path.resolve(config.DATA_DIR) })
const sql = createSql(config.DATABASE_URL ?? embedded!.url, { max: 2 })
try {
  await migrate(sql)
  const key = resolveEncryptionKey(config.encryptionKey, config.DATA_DIR, log)
  const cipher = createTokenCipher([key, ...config.previousEncryptionKeys], legacyButtonKey(key))
  const report = await reencryptTokens(sql, cipher)
  log.info('tokens_reencrypted', { keyId: cipher.currentKeyId, ...report })
  const secrets = await reencryptWebhookSecrets(sql, cipher)
  log.info('webhook_secrets_reencrypted', { keyId: cipher.currentKeyId, ...secrets })
  if (report.unreadable > 0 || secrets.unreadable > 0) process.exitCode = 2
} finally {
  await sql.end({ timeout: 5 })
  await embedded?.stop()
}
