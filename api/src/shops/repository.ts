import type { Sql } from '../platform/db/client'

export type ShopRow = { id: string; external_id: string | null; name: string; time_zone: string; created_at: Date }

/**
 * One shop per `externalId`, decided by the unique index: concurrent provisioning of the same shop
 * gets one row. `created` tells a new row (201) from an update of the existing one (200).
 */
export async function upsertShop(sql: Sql, p: { externalId: string; name: string; timeZone?: string }): Promise<ShopRow & { created: boolean }> {
  const [row] = await sql<(ShopRow & { created: boolean })[]>`
    insert into shops (external_id, name, time_zone) values (${p.externalId}, ${p.name}, coalesce(${p.timeZone ?? null}, 'Europe/Moscow'))
    on conflict (external_id) where external_id is not null do update
      set name = excluded.name, time_zone = coalesce(${p.timeZone ?? null}, shops.time_zone)
    returning id, external_id, name, time_zone, created_at, (xmax = 0) as created`
  return row!
}

export function findShops(sql: Sql, externalId: string | null): Promise<ShopRow[]> {
  return sql<ShopRow[]>`
    select id, external_id, name, time_zone, created_at from shops
    where (${externalId}::text is null or external_id = ${externalId}) order by id limit 1000`
}

export async function findShop(sql: Sql, id: number): Promise<ShopRow | null> {
  const [row] = await sql<ShopRow[]>`select id, external_id, name, time_zone, created_at from shops where id = ${id}`
  return row ?? null
}

export async function updateShop(sql: Sql, id: number, p: { name?: string; timeZone?: string }): Promise<ShopRow | null> {
  const [row] = await sql<ShopRow[]>`
    update shops set name = coalesce(${p.name ?? null}, name), time_zone = coalesce(${p.timeZone ?? null}, time_zone)
    where id = ${id} returning id, external_id, name, time_zone, created_at`
  return row ?? null
}

/**
 * Offboarding in one transaction: the line that says who removed the shop is written, then the shop
 * row goes and every table hanging off it (orders, messages, outbox, logs, events, keys, sessions,
 * recipients, webhook endpoints) goes with it by its foreign key. Returns the removed bot, if any, so
 * the caller can remove its webhook at Telegram.
 */
export async function deleteShop(sql: Sql, id: number, actorLabel: string): Promise<{ bot_token: string | null } | null> {
  return sql.begin(async (tx) => {
    const [shop] = await tx<{ id: string; external_id: string | null; name: string; bot_token: string | null; orders: number }[]>`
      select s.id, s.external_id, s.name, i.bot_token, (select count(*)::int from orders o where o.shop_id = s.id) as orders
      from shops s left join telegram_integrations i on i.shop_id = s.id where s.id = ${id} for update of s`
    if (!shop) return null
    await tx`
      insert into shop_offboarding_log (shop_id, external_id, name, actor_label, details)
      values (${id}, ${shop.external_id}, ${shop.name}, ${actorLabel}, ${tx.json({ orders: shop.orders, botConnected: !!shop.bot_token })})`
    // the log's counter trigger writes per shop: its rows go while the shop still exists
    await tx`delete from telegram_send_log where shop_id = ${id}`
    // used launch tokens are not tied to a shop; sessions and keys cascade with the shop
    await tx`delete from shops where id = ${id}`
    return { bot_token: shop.bot_token }
  })
}
