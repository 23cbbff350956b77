import { findIntegration, safeDecrypt } from '../connect'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Actor, CredentialResolver, Principal } from '../platform/http/auth'
import { HttpError, NotFound } from '../platform/http/errors'
import type { Logger } from '../platform/log'
import { API_KEY_PREFIX, hashCredential, newApiKey, newSessionToken, SESSION_PREFIX } from './credentials'
import { INIT_DATA_MAX_AGE_SEC, InitDataRejected, validateInitData } from './init-data'
import { LaunchRejected, signLaunchToken, verifyLaunchToken } from './launch'
import { insertAudit, listAudit } from '../platform/audit'
import * as repo from './repository'
import { AccessRequests, ownerChat } from './telegram-requests'
import type { TelegramClient, TgUpdate } from '../bot-api'
import type { IntegrationRow } from '../connect'

/** An owner session lasts at most this long (the contract's 12 h); the platform can always launch again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000

export class Unauthorized extends HttpError {
  constructor(message: string, code = 'unauthorized') {
    super(401, code, message)
  }
}

const LAUNCH_REASONS: Record<LaunchRejected['reason'], string> = {
  malformed: 'The launch token is not a valid JWT',
  bad_signature: 'The launch token is not signed with this platform’s secret',
  expired: 'The launch token has expired; open the page from the platform again',
  too_long: 'The launch token lives longer than 10 minutes',
  missing_claim: 'The launch token lacks a valid shop, exp or jti claim',
}

export type ApiKey = { id: number; prefix: string; name: string; createdAt: string; lastUsedAt: string | null }
const toApiKey = (r: repo.ApiKeyRow): ApiKey => ({
  id: Number(r.id),
  prefix: r.prefix,
  name: r.name,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
})

/** API keys, owner sessions and owner links; and the lookup the auth plugin asks for every credential. */
export class AccessService {
  private readonly requests: AccessRequests

  constructor(
    private readonly deps: {
      sql: Sql
      log: Logger
      cipher: TokenCipher
      platformSecret: string | undefined
      /** PLATFORM_SECRETS_PREVIOUS: launch tokens signed with one of these still open a session. */
      previousPlatformSecrets?: string[]
      publicUrl: string | undefined
      client: TelegramClient
      timeoutMs: number
      now?: () => Date
    },
  ) {
    this.requests = new AccessRequests({ ...deps, allow: (shopId, m, actor) => this.allowManager(shopId, m, actor) })
  }

  /** The owner's «Разрешить» in the bot (a callback query); true when the press was one of ours. */
  readonly handleTelegramPress = (integration: IntegrationRow, token: string, update: TgUpdate) => this.requests.press(integration, token, update)

  private now() {
    return this.deps.now?.() ?? new Date()
  }

  /** For `accessControl`: a bearer credential → the principal, a reason it is refused, or null. */
  readonly resolve: CredentialResolver = async (credential) => {
    const { sql } = this.deps
    if (credential.startsWith(API_KEY_PREFIX)) {
      const key = await repo.useApiKey(sql, hashCredential(credential))
      if (!key) return { rejected: 'unauthorized', message: 'This API key is unknown or has been revoked' }
      return { kind: 'api_key', shopId: Number(key.shop_id), keyId: Number(key.id), prefix: key.prefix, name: key.name }
    }
    if (credential.startsWith(SESSION_PREFIX)) {
      const s = await repo.findSession(sql, hashCredential(credential))
      if (!s) return { rejected: 'unauthorized', message: 'This session is unknown' }
      if (s.revoked_at || s.expires_at <= this.now())
        return { rejected: 'session_expired', message: 'The session has ended; open the page from the platform again' }
      if (!s.still_allowed) return { rejected: 'session_expired', message: 'The owner no longer allows this Telegram user; the session has ended' }
      return {
        kind: s.kind,
        shopId: Number(s.shop_id),
        sessionId: Number(s.id),
        subject: s.subject,
        name: s.subject_name,
        source: s.source,
        tgUserId: s.tg_user_id === null ? null : Number(s.tg_user_id),
      }
    }
    return { rejected: 'unauthorized', message: 'The credential is not valid' }
  }

  async createApiKey(shopId: number, name: string | undefined, actor: Actor): Promise<ApiKey & { key: string }> {
    if (!(await repo.shopExists(this.deps.sql, shopId))) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
    const k = newApiKey()
    const row = await repo.insertApiKey(this.deps.sql, shopId, name?.trim() ?? '', k.prefix, k.hash)
    await insertAudit(this.deps.sql, { shopId, actor, action: 'api_key_created', details: { keyId: Number(row.id), prefix: k.prefix } })
    this.deps.log.info('api_key_created', { shopId, keyId: Number(row.id), prefix: k.prefix })
    return { ...toApiKey(row), key: k.key }
  }

  async listApiKeys(shopId: number): Promise<ApiKey[]> {
    if (!(await repo.shopExists(this.deps.sql, shopId))) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
    return (await repo.listApiKeys(this.deps.sql, shopId)).map(toApiKey)
  }

  async revokeApiKey(shopId: number, keyId: number, actor: Actor): Promise<void> {
    if (!(await repo.revokeApiKey(this.deps.sql, shopId, keyId))) throw new NotFound(`Shop ${shopId} has no active API key ${keyId}`, 'api_key_not_found')
    await insertAudit(this.deps.sql, { shopId, actor, action: 'api_key_revoked', details: { keyId } })
    this.deps.log.info('api_key_revoked', { shopId, keyId })
  }

  /** Trades a platform-signed launch token for an owner session, once per token. */
  async openFromLaunch(launch: string): Promise<{ token: string; shopId: number; expiresAt: string; role: 'owner' }> {
    const { sql, platformSecret, previousPlatformSecrets = [], log } = this.deps
    if (!platformSecret) throw new Unauthorized('Owner launch is not configured on this server (PLATFORM_SECRET is unset)', 'launch_not_configured')
    let claims
    try {
      claims = await verifyLaunchToken(launch, [platformSecret, ...previousPlatformSecrets], this.now())
    } catch (err) {
      if (err instanceof LaunchRejected) {
        log.info('launch_refused', { reason: err.reason })
        throw new Unauthorized(LAUNCH_REASONS[err.reason], err.reason === 'expired' ? 'launch_expired' : 'launch_invalid')
      }
      throw err
    }
    if (!(await repo.shopExists(sql, claims.shopId)))
      throw new Unauthorized(`The launch token names shop ${claims.shopId}, which does not exist here`, 'launch_invalid')
    const session = newSessionToken()
    const expiresAt = new Date(this.now().getTime() + SESSION_TTL_MS)
    const row = await repo.openSessionOnce(sql, {
      jti: claims.jti,
      jtiExpiresAt: claims.expiresAt,
      shopId: claims.shopId,
      hash: session.hash,
      source: 'launch',
      subject: claims.subject,
      name: claims.name,
      expiresAt,
    })
    if (!row) {
      log.info('launch_refused', { reason: 'reused', shopId: claims.shopId })
      throw new Unauthorized('This launch token has already been used; open the page from the platform again', 'launch_reused')
    }
    log.info('owner_session_opened', { shopId: claims.shopId, sessionId: Number(row.id), source: 'launch' })
    if (Math.random() < 0.05) void repo.pruneExpired(sql).catch((error) => log.warn('prune_failed', { error }))
    return { token: session.token, shopId: claims.shopId, expiresAt: row.expires_at.toISOString(), role: 'owner' }
  }

  /**
   * Inside Telegram: `initData` signed by this shop's own bot proves who opened the Mini App. The
   * shop's owner in Telegram (`shops.owner_tg_user_id`, bound explicitly) gets an owner session; a
   * manager the owner allowed gets a manager session (orders, settings read-only). Anyone else: 403
   * with a plain reason, and the owner is asked. One initData opens at most one session.
   */
  async openFromTelegram(shopId: number, initData: string): Promise<{ token: string; shopId: number; expiresAt: string; role: 'owner' | 'manager' }> {
    const { sql, cipher, log } = this.deps
    const integration = await findIntegration(sql, shopId)
    const botToken = integration ? safeDecrypt(cipher, integration.bot_token, shopId) : null
    if (!botToken) throw new Unauthorized('This shop has no Telegram bot connected, so Telegram cannot vouch for anyone here', 'telegram_not_connected')
    let user
    let signature
    try {
      ;({ user, signature } = validateInitData(initData, botToken, this.now()))
    } catch (err) {
      if (!(err instanceof InitDataRejected)) throw err
      log.info('init_data_refused', { shopId, reason: err.reason })
      throw new Unauthorized(
        err.reason === 'stale'
          ? `The Telegram data is older than ${INIT_DATA_MAX_AGE_SEC / 60} minutes: reopen the app from the bot`
          : 'The Telegram data is not signed by this shop’s bot',
        'init_data_invalid',
      )
    }
    const owner = (await ownerChat(sql, shopId)) === String(user.id)
    const manager = !owner && (await sql`select 1 from telegram_managers where shop_id = ${shopId} and tg_user_id = ${user.id}`).length > 0
    if (!owner && !manager) {
      log.info('init_data_not_allowed', { shopId })
      const [shop] = await sql<{ name: string }[]>`select name from shops where id = ${shopId}`
      await this.requests.ask(shopId, shop?.name ?? '', botToken, user)
      throw new HttpError(403, 'not_allowed', 'This Telegram user is neither the shop’s owner nor a manager the owner allowed: ask the owner to add you')
    }
    const name = [user.first_name, user.last_name].filter(Boolean).join(' ') || user.username || `tg:${user.id}`
    const kind = owner ? 'owner' : 'manager'
    const session = newSessionToken()
    const expiresAt = new Date(this.now().getTime() + SESSION_TTL_MS)
    const row = await repo.openTelegramSessionOnce(sql, {
      shopId,
      hash: session.hash,
      kind,
      tgUserId: user.id,
      name,
      initDataHash: hashCredential(`${shopId}:${signature}`),
      expiresAt,
    })
    if (!row) {
      log.info('init_data_refused', { shopId, reason: 'reused' })
      throw new Unauthorized('This Telegram data has already opened a session: reopen the app from the bot', 'init_data_reused')
    }
    log.info('session_opened', { shopId, sessionId: Number(row.id), source: 'telegram', kind })
    return { token: session.token, shopId, expiresAt: row.expires_at.toISOString(), role: kind }
  }

  /** Open sessions of the shop: who opened them (the platform user or the Telegram user) and until when. */
  async listSessions(shopId: number, current: Principal | undefined) {
    if (!(await repo.shopExists(this.deps.sql, shopId))) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
    const rows = await repo.listOpenSessions(this.deps.sql, shopId)
    const mine = current && 'sessionId' in current ? current.sessionId : null
    return rows.map((r) => ({
      id: Number(r.id),
      kind: r.kind,
      source: r.source as 'launch' | 'telegram',
      name: r.subject_name,
      subject: r.subject,
      telegramUserId: r.tg_user_id === null ? null : Number(r.tg_user_id),
      createdAt: r.created_at.toISOString(),
      expiresAt: r.expires_at.toISOString(),
      current: Number(r.id) === mine,
    }))
  }

  /** Ends one of the shop's sessions (its live streams close within seconds). */
  async endShopSession(shopId: number, sessionId: number, actor: Actor): Promise<void> {
    if (!(await repo.revokeShopSession(this.deps.sql, shopId, sessionId)))
      throw new NotFound(`Shop ${shopId} has no open session ${sessionId}`, 'session_not_found')
    await insertAudit(this.deps.sql, { shopId, actor, action: 'session_ended', details: { sessionId } })
    this.deps.log.info('session_ended', { shopId, sessionId })
  }

  async listManagers(shopId: number) {
    const rows = await this.deps.sql<{ tg_user_id: string; name: string | null; added_by: string; created_at: Date }[]>`
      select tg_user_id, name, added_by, created_at from telegram_managers where shop_id = ${shopId} order by created_at`
    return rows.map((r) => ({ telegramUserId: Number(r.tg_user_id), name: r.name, addedBy: r.added_by, createdAt: r.created_at.toISOString() }))
  }

  /** Who opened the Mini App without being allowed (and still is not), newest first. */
  async listAccessRequests(shopId: number) {
    const rows = await this.deps.sql<{ tg_user_id: string; name: string; requested_at: Date }[]>`
      select r.tg_user_id, r.name, r.requested_at from telegram_access_requests r
      where r.shop_id = ${shopId} and r.requested_at > now() - interval '30 days'
        and not exists (select 1 from telegram_managers m where m.shop_id = r.shop_id and m.tg_user_id = r.tg_user_id)
      order by r.requested_at desc limit 20`
    return rows.map((r) => ({ telegramUserId: Number(r.tg_user_id), name: r.name, requestedAt: r.requested_at.toISOString() }))
  }

  async allowManager(shopId: number, m: { telegramUserId: number; name?: string }, actor: Actor) {
    if (!(await repo.shopExists(this.deps.sql, shopId))) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
    await this.deps.sql`
      insert into telegram_managers (shop_id, tg_user_id, name, added_by) values (${shopId}, ${m.telegramUserId}, ${m.name ?? null}, ${actor.label})
      on conflict (shop_id, tg_user_id) do update set name = coalesce(excluded.name, telegram_managers.name)`
    await insertAudit(this.deps.sql, { shopId, actor, action: 'manager_allowed', details: { telegramUserId: m.telegramUserId } })
    return this.listManagers(shopId)
  }

  /** Removes a manager and ends their sessions at once (their open live pages close within seconds). */
  async removeManager(shopId: number, telegramUserId: number, actor: Actor) {
    const r = await repo.removeManagerAndSessions(this.deps.sql, shopId, telegramUserId)
    if (!r.removed) throw new NotFound(`Telegram user ${telegramUserId} is not a manager of shop ${shopId}`, 'manager_not_found')
    await insertAudit(this.deps.sql, { shopId, actor, action: 'manager_removed', details: { telegramUserId, sessionsEnded: r.sessions } })
    this.deps.log.info('manager_removed', { shopId, sessionsEnded: r.sessions })
  }

  async endSession(principal: Principal | undefined): Promise<void> {
    if (principal?.kind !== 'owner' && principal?.kind !== 'manager') throw new Unauthorized('Only a session can end itself')
    await repo.revokeSession(this.deps.sql, principal.sessionId)
    this.deps.log.info('owner_session_ended', { shopId: principal.shopId, sessionId: principal.sessionId })
  }

  /** A page link with a fresh launch token, for support and demos (what the platform would open). */
  async ownerLink(shopId: number, origin: string, actor: Actor): Promise<{ url: string; expiresAt: string }> {
    const { sql, platformSecret, publicUrl } = this.deps
    if (!platformSecret) throw new HttpError(409, 'launch_not_configured', 'Set PLATFORM_SECRET to issue owner links')
    if (!(await repo.shopExists(sql, shopId))) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
    const { token, expiresAt } = await signLaunchToken({
      shopId,
      secret: platformSecret,
      now: this.now(),
      subject: `support:${actor.label}`,
      name: 'Поддержка',
    })
    await insertAudit(sql, { shopId, actor, action: 'owner_link_issued' })
    return { url: `${publicUrl ?? origin}/shops/${shopId}/growth/telegram#launch=${token}`, expiresAt: expiresAt.toISOString() }
  }

  async audit(shopId: number, limit: number) {
    const rows = await listAudit(this.deps.sql, shopId, limit)
    return rows.map((r) => ({
      id: Number(r.id),
      actorKind: r.actor_kind,
      actor: r.actor_label,
      action: r.action,
      orderId: r.order_id === null ? null : Number(r.order_id),
      details: (r.details ?? null) as Record<string, unknown> | null,
      createdAt: r.created_at.toISOString(),
    }))
  }
}
