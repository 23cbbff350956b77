import type { TelegramClient } from '../bot-api'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import type { Actor } from '../platform/http/auth'
import { Invalid, NotFound } from '../platform/http/errors'
import type { Logger } from '../platform/log'
import * as repo from './repository'

const toShop = (r: repo.ShopRow) => ({
  id: Number(r.id),
  externalId: r.external_id,
  name: r.name,
  timeZone: r.time_zone,
  createdAt: r.created_at.toISOString(),
})
export type Shop = ReturnType<typeof toShop>

/** PostgreSQL's own zone list decides what a time zone is. */
async function assertZone(sql: Sql, zone: string | undefined) {
  if (!zone) return
  const [ok] = await sql`select 1 from pg_timezone_names where name = ${zone}`
  if (!ok)
    throw new Invalid(`Unknown time zone ${zone}`, [{ path: 'timeZone', message: 'must be an IANA time zone such as Europe/Moscow' }], 'invalid_time_zone')
}

/** Shops as the platform provisions them: upsert by its own id, read, rename, offboard. */
export class ShopService {
  constructor(private readonly deps: { sql: Sql; client: TelegramClient; cipher: TokenCipher; log: Logger; timeoutMs: number }) {}

  async upsert(body: { externalId: string; name: string; timeZone?: string }): Promise<{ created: boolean; shop: Shop }> {
    await assertZone(this.deps.sql, body.timeZone)
    const { created, ...row } = await repo.upsertShop(this.deps.sql, body)
    this.deps.log.info(created ? 'shop_created' : 'shop_updated', { shopId: Number(row.id) })
    return { created, shop: toShop(row) }
  }

  async list(externalId: string | undefined) {
    return { items: (await repo.findShops(this.deps.sql, externalId ?? null)).map(toShop) }
  }

  async get(id: number): Promise<Shop> {
    const row = await repo.findShop(this.deps.sql, id)
    if (!row) throw new NotFound(`Shop ${id} does not exist`, 'shop_not_found')
    return toShop(row)
  }

  async update(id: number, body: { name?: string; timeZone?: string }): Promise<Shop> {
    await assertZone(this.deps.sql, body.timeZone)
    const row = await repo.updateShop(this.deps.sql, id, body)
    if (!row) throw new NotFound(`Shop ${id} does not exist`, 'shop_not_found')
    return toShop(row)
  }

  /**
   * Offboarding: everything of the shop is deleted in one transaction (its keys, sessions and links
   * stop working at once), then its bot's webhook is removed at Telegram. Telegram being down does not
   * keep the shop: the bot then points at a webhook id that no longer exists and gets 404s.
   */
  async remove(id: number, actor: Actor): Promise<void> {
    const { sql, client, cipher, log, timeoutMs } = this.deps
    const r = await repo.deleteShop(sql, id, actor.label)
    if (!r) throw new NotFound(`Shop ${id} does not exist`, 'shop_not_found')
    log.info('shop_deleted', { shopId: id, actor: actor.label })
    if (!r.bot_token) return
    try {
      await client.deleteWebhook(cipher.decrypt(r.bot_token, id), AbortSignal.timeout(timeoutMs))
    } catch (error) {
      log.warn('offboarding_webhook_not_removed', { shopId: id, error })
    }
  }
}
