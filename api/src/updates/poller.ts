import type { Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import { TelegramError, type TelegramClient } from '../bot-api'
import type { UpdateRouter } from './router'
import { claimPollableIntegrations, releasePoll } from '../connect'
import { safeDecrypt } from '../connect'
import type { TokenCipher } from '../platform/crypto'
import { BackgroundLoop } from '../platform/loop'

/**
 * Without PUBLIC_URL nobody can reach our webhook, so updates are fetched with getUpdates for bots
 * that wait for /start (and bound ones, for button presses). It never calls deleteWebhook: a bot whose
 * webhook was set by a deployment with PUBLIC_URL answers 409 here, and is then left alone.
 */
export class Poller extends BackgroundLoop {
  constructor(private readonly deps: { sql: Sql; client: TelegramClient; cipher: TokenCipher; router: UpdateRouter; log: Logger; intervalMs: number }) {
    super()
  }

  async pollOnce(): Promise<number> {
    const { sql, client, cipher, router, log } = this.deps
    const rows = await claimPollableIntegrations(sql, 50, 30)
    await Promise.all(
      rows.map(async (row) => {
        const token = safeDecrypt(cipher, row.bot_token, row.shop_id)
        if (!token) return releasePoll(sql, row.id, null, 'token unreadable')
        try {
          const updates = await client.getUpdates(token, { offset: Number(row.poll_offset), timeoutSec: 0 })
          let next: number | null = null
          for (const u of updates) {
            await router.handle(row, u)
            next = Math.max(next ?? 0, u.update_id + 1)
          }
          await releasePoll(sql, row.id, next, null)
        } catch (err) {
          const conflict =
            err instanceof TelegramError && err.failure.kind === 'terminal' && (err.failure.code === 'conflict' || err.failure.code === 'unauthorized')
          if (conflict) log.warn('poll_stopped', { shopId: row.shop_id, error: err })
          await releasePoll(sql, row.id, null, conflict ? (err as Error).message : null)
        }
      }),
    )
    return rows.length
  }

  protected async run(): Promise<void> {
    while (this.running) {
      this.wakePending = false
      await this.pollOnce().catch((err) => this.deps.log.warn('poller_error', { error: err }))
      if (!this.running) break
      if (!this.wakePending) await this.sleep(this.deps.intervalMs)
    }
  }
}
