import { TelegramError, type TelegramClient } from '../bot-api'
import { findIntegration } from '../connect'
import { insertAudit } from '../platform/audit'
import { maskToken, randomCode, sha256, type TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Actor } from '../platform/http/auth'
import { Conflict, UpstreamUnavailable } from '../platform/http/errors'
import type { Logger } from '../platform/log'
import { getShopOr404 } from '../platform/shops'
import type { ManagerBot } from './manager'
import { storeRotatedToken } from './repository'

/**
 * `POST /shops/{id}/telegram/rotate-token`: Telegram revokes the managed bot's token and issues a new
 * one (replaceManagedBotToken), which is stored and used from the next call on. The old token is dead
 * the moment Telegram answers, so the new one is stored even if re-pointing the webhook fails.
 */
export async function rotateManagedToken(
  deps: { sql: Sql; client: TelegramClient; cipher: TokenCipher; log: Logger; publicUrl: string | undefined; timeoutMs: number; manager: ManagerBot },
  shopId: number,
  actor?: Actor,
): Promise<{ botUsername: string; rotatedAt: string }> {
  const { sql, client, cipher, log, publicUrl, timeoutMs, manager } = deps
  await getShopOr404(sql, shopId)
  const integration = await findIntegration(sql, shopId)
  if (!integration) throw new Conflict('Telegram is not connected for this shop', 'not_connected')
  if (!integration.managed) throw new Conflict('This bot’s token was pasted: rotate it in @BotFather and connect the new one', 'not_managed')
  let token: string
  try {
    token = await client.replaceManagedBotToken(manager.token(), Number(integration.bot_id), AbortSignal.timeout(timeoutMs))
  } catch (err) {
    if (err instanceof TelegramError && err.failure.kind === 'transient') throw new UpstreamUnavailable(`Telegram cannot be reached: ${err.failure.reason}`)
    if (err instanceof TelegramError) throw new Conflict(`Telegram refused to replace the token: ${err.failure.reason}`, 'telegram_rejected')
    throw err
  }
  // the webhook belongs to the bot, but it is set again with the new token and a new secret
  let secretHash: string | null = null
  if (publicUrl && integration.webhook_url) {
    const secret = randomCode(32)
    await client
      .setWebhook(token, { url: integration.webhook_url, secretToken: secret }, AbortSignal.timeout(timeoutMs))
      .then(() => {
        secretHash = sha256(secret)
      })
      .catch((error) => log.warn('rotated_webhook_not_set', { shopId, error }))
  }
  const stored = await storeRotatedToken(sql, {
    shopId,
    botId: integration.bot_id,
    tokenEncrypted: cipher.encrypt(token, shopId),
    tokenMasked: maskToken(token),
    webhookSecretHash: secretHash,
  })
  if (!stored) throw new Conflict('The shop’s bot changed meanwhile', 'not_managed')
  log.info('bot_token_rotated', { shopId, bot: stored.bot_username })
  if (actor) await insertAudit(sql, { shopId, actor, action: 'bot_token_rotated', details: { bot: stored.bot_username } })
  return { botUsername: stored.bot_username, rotatedAt: new Date(stored.token_rotated_at).toISOString() }
}
