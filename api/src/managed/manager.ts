import { createHash } from 'node:crypto'
import { MANAGER_ALLOWED_UPDATES, TelegramError, type BotInfo, type OutgoingMessage, type TelegramClient } from '../bot-api'
import { Conflict, UpstreamUnavailable } from '../platform/http/errors'
import type { Logger } from '../platform/log'

export const managerWebhookPath = (id: string) => `/telegram/manager-webhook/${id}`

/**
 * The manager bot's webhook id and secret, derived from its token: the same in every replica and
 * across restarts, with nothing to store; a new token gives new ones.
 */
export function managerWebhookKeys(managerToken: string): { id: string; secret: string } {
  const derive = (label: string) => createHash('sha256').update(`${label}:${managerToken}`).digest('base64url')
  return { id: derive('manager-webhook-id').slice(0, 24), secret: derive('manager-webhook-secret') }
}

/** getMe says the manager bot has bot management mode off (`can_manage_bots: false`). */
class ManagerCannotManage extends Error {
  constructor(readonly username: string) {
    super(`@${username} has bot management mode off`)
  }
}

/**
 * The platform's own bot (MANAGER_BOT_TOKEN): who it is, where Telegram sends its updates, and what it
 * says. Its replies run in the background (a webhook must answer fast); `settle` waits for them.
 */
export class ManagerBot {
  private identity: Promise<BotInfo> | null = null
  private readonly background = new Set<Promise<unknown>>()

  constructor(
    private readonly deps: { client: TelegramClient; log: Logger; managerToken: string | undefined; publicUrl: string | undefined; timeoutMs: number },
  ) {}

  get configured(): boolean {
    return !!this.deps.managerToken
  }

  /** The token, or 409 `managed_bots_off` when none is configured. */
  token(): string {
    if (!this.deps.managerToken)
      throw new Conflict('No manager bot is configured (MANAGER_BOT_TOKEN): connect a bot by pasting its token instead', 'managed_bots_off')
    return this.deps.managerToken
  }

  /**
   * Who the manager bot is (getMe, once per process), and with PUBLIC_URL its webhook pointed at us.
   * A failure is not remembered: the next call asks again.
   */
  me(): Promise<BotInfo> {
    const token = this.token()
    if (!this.identity) {
      const { client, publicUrl, timeoutMs, log } = this.deps
      this.identity = (async () => {
        const me = await client.getMe(token, AbortSignal.timeout(timeoutMs))
        if (me.canManageBots === false) throw new ManagerCannotManage(me.username)
        if (publicUrl) {
          const keys = managerWebhookKeys(token)
          await client.setWebhook(
            token,
            { url: `${publicUrl}${managerWebhookPath(keys.id)}`, secretToken: keys.secret, allowedUpdates: MANAGER_ALLOWED_UPDATES },
            AbortSignal.timeout(timeoutMs),
          )
        }
        log.info('manager_bot_ready', { bot: me.username, webhook: !!publicUrl })
        return me
      })()
      this.identity.catch(() => {
        this.identity = null
      })
    }
    return this.identity
  }

  /** `me()` for a request: Telegram's refusals as the API's errors (503 unreachable, 409 refused or not a manager). */
  async meForRequest(): Promise<BotInfo> {
    try {
      return await this.me()
    } catch (err) {
      if (err instanceof TelegramError && err.failure.kind === 'transient')
        throw new UpstreamUnavailable(`Telegram cannot be reached to ask the manager bot: ${err.failure.reason}`)
      if (err instanceof TelegramError)
        throw new Conflict(`Telegram refused the manager bot (check MANAGER_BOT_TOKEN): ${err.failure.reason}`, 'manager_bot_rejected')
      if (err instanceof ManagerCannotManage)
        throw new Conflict(`@${err.username} cannot create bots: switch on bot management mode for it in the @BotFather Mini App`, 'manager_bot_cannot_manage')
      throw err
    }
  }

  /** True when a webhook call carries the manager bot's id and secret. */
  isWebhook(id: string, secret: string, equal: (a: string, b: string) => boolean): boolean {
    if (!this.deps.managerToken || !secret) return false
    const keys = managerWebhookKeys(this.deps.managerToken)
    return id === keys.id && equal(secret, keys.secret)
  }

  /** A message from the manager bot, sent in the background. */
  say(chatId: string, msg: Omit<OutgoingMessage, 'chatId'>): void {
    const { client, log, timeoutMs, managerToken } = this.deps
    if (!managerToken) return
    this.track(
      client.sendMessage(managerToken, { chatId, ...msg }, AbortSignal.timeout(timeoutMs)).catch((error) => log.warn('manager_reply_failed', { error })),
    )
  }

  track(p: Promise<unknown>): void {
    this.background.add(p)
    p.finally(() => this.background.delete(p))
  }

  /** Waits for messages still being sent (tests, graceful stop). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.background])
  }
}
