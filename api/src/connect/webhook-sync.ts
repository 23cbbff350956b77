import { TelegramError, type TelegramClient } from '../bot-api'
import { randomCode, sha256, type TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import type { IntegrationRow } from './repository'
import { safeDecrypt, webhookPath } from './service'

/**
 * After PUBLIC_URL changes (a new domain, another load balancer) every bot still sends its updates to
 * the old address. On start, each integration whose stored webhook URL is not under the current
 * PUBLIC_URL gets `setWebhook` to the new address with a fresh secret token. One row per transaction,
 * taken `FOR UPDATE SKIP LOCKED`, so replicas starting together share the work and never set one bot
 * twice with different secrets; the row is written only once Telegram accepted the new webhook.
 */
export async function resyncWebhooks(deps: {
  sql: Sql
  client: TelegramClient
  cipher: TokenCipher
  log: Logger
  publicUrl: string
  timeoutMs: number
}): Promise<{ moved: number; failed: number }> {
  const { sql, client, cipher, log, publicUrl, timeoutMs } = deps
  const prefix = `${publicUrl}/telegram/webhook/`
  let moved = 0
  let failed = 0
  let afterId = '0'
  for (;;) {
    const row = await sql.begin(async (tx) => {
      const [r] = await tx<IntegrationRow[]>`
        select * from telegram_integrations
        where id > ${afterId} and (webhook_url is null or left(webhook_url, ${prefix.length}) <> ${prefix})
        order by id limit 1 for update skip locked`
      if (!r) return null
      const token = safeDecrypt(cipher, r.bot_token, r.shop_id)
      const url = `${publicUrl}${webhookPath(r.webhook_id)}`
      const secret = randomCode(32)
      try {
        if (!token) throw new Error('the stored token cannot be decrypted (ENCRYPTION_KEY changed?)')
        await client.setWebhook(token, { url, secretToken: secret }, AbortSignal.timeout(timeoutMs))
      } catch (err) {
        if (!(err instanceof TelegramError) && token) throw err
        log.warn('webhook_not_moved', { shopId: Number(r.shop_id), error: err })
        failed++
        return r
      }
      await tx`update telegram_integrations set webhook_url = ${url}, webhook_secret_hash = ${sha256(secret)}, updated_at = now() where id = ${r.id}`
      log.info('webhook_moved', { shopId: Number(r.shop_id), from: r.webhook_url ? new URL(r.webhook_url).origin : null, to: publicUrl })
      moved++
      return r
    })
    if (!row) break
    afterId = row.id
  }
  if (moved || failed) log.info('webhooks_resynced', { publicUrl, moved, failed })
  return { moved, failed }
}
