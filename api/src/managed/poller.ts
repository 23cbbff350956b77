import { MANAGER_ALLOWED_UPDATES, TelegramError, type TelegramClient } from '../bot-api'
import type { Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import { BackgroundLoop } from '../platform/loop'
import { claimManagerPoll, releaseManagerPoll } from './repository'
import type { ManagedBotService } from './service'

/**
 * Without PUBLIC_URL the manager bot's updates are fetched with getUpdates, like the shops' bots: one
 * replica at a time (a lease in manager_bot_polls), the offset kept in the database so a restart
 * neither loses nor repeats an update. A webhook set elsewhere (409) stops it with one warning.
 */
export class ManagerPoller extends BackgroundLoop {
  private stopped: string | null = null

  constructor(private readonly deps: { sql: Sql; client: TelegramClient; managed: ManagedBotService; managerToken: string; log: Logger; intervalMs: number }) {
    super()
  }

  async pollOnce(): Promise<number> {
    const { sql, client, managed, managerToken, log } = this.deps
    if (this.stopped) return 0
    const me = await managed.manager.me()
    const offset = await claimManagerPoll(sql, me.id, 30)
    if (offset === null) return 0
    let next: number | null = null
    try {
      const updates = await client.getUpdates(managerToken, { offset, timeoutSec: 0, allowedUpdates: MANAGER_ALLOWED_UPDATES })
      for (const u of updates) {
        await managed.handle(u).catch((error) => log.warn('manager_update_failed', { updateId: u.update_id, error }))
        next = Math.max(next ?? 0, u.update_id + 1)
      }
      return updates.length
    } catch (err) {
      if (err instanceof TelegramError && err.failure.kind === 'terminal' && (err.failure.code === 'conflict' || err.failure.code === 'unauthorized')) {
        this.stopped = err.message
        log.warn('manager_poll_stopped', { error: err })
      } else log.warn('manager_poll_failed', { error: err })
      return 0
    } finally {
      await releaseManagerPoll(sql, me.id, next)
    }
  }

  protected async run(): Promise<void> {
    while (this.running) {
      this.wakePending = false
      await this.pollOnce().catch((err) => this.deps.log.warn('manager_poller_error', { error: err }))
      if (!this.running) break
      if (!this.wakePending) await this.sleep(this.deps.intervalMs)
    }
  }
}
