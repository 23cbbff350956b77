import type { Sql } from '../platform/db/client'

/**
 * Photos of an order. Telegram keeps the file: we keep its `file_id` (valid for the shop's bot) and
 * who sent it when. `kind` says what it shows ('bouquet': sent to the buyer to approve; 'delivery':
 * a courier's proof); `approval` is the buyer's answer ('pending' while asked, null when not asked).
 */
export type PhotoRow = {
  id: string
  order_id: string
  kind: string
  file_id: string
  by_name: string | null
  at: Date
  approval: 'pending' | 'approved' | 'changes_requested' | null
  comment: string | null
  answered_at: Date | null
}

const PHOTO_COLUMNS = 'id, order_id, kind, file_id, by_name, at, approval, comment, answered_at'

export async function addPhoto(
  tx: Sql,
  p: {
    shopId: number
    orderId: number | string
    kind: string
    fileId: string
    fileUniqueId?: string | null
    byName: string | null
    byTgId: number | null
    ask: boolean
  },
): Promise<PhotoRow> {
  const [row] = await tx<PhotoRow[]>`
    insert into order_photos (shop_id, order_id, kind, file_id, file_unique_id, by_name, by_tg_id, approval)
    values (${p.shopId}, ${p.orderId}, ${p.kind}, ${p.fileId}, ${p.fileUniqueId ?? null}, ${p.byName}, ${p.byTgId}, ${p.ask ? 'pending' : null})
    returning ${tx.unsafe(PHOTO_COLUMNS)}`
  return row!
}

/** One photo of a shop's order (the image route), or null. */
export async function findPhoto(sql: Sql, shopId: number, orderId: number, photoId: number): Promise<PhotoRow | null> {
  const [row] = await sql<PhotoRow[]>`
    select ${sql.unsafe(PHOTO_COLUMNS)} from order_photos where shop_id = ${shopId} and order_id = ${orderId} and id = ${photoId}`
  return row ?? null
}

/** The photos of these orders, oldest first. */
export function photosOf(sql: Sql, orderIds: (number | string)[]): Promise<PhotoRow[]> {
  return sql<PhotoRow[]>`
    select ${sql.unsafe(PHOTO_COLUMNS)} from order_photos where order_id = any(${orderIds.map(String)}::bigint[]) order by order_id, id`
}

/** The newest photo of the order the buyer was asked about (the one an answer is for), or null. */
export async function newestAskedPhoto(sql: Sql, orderId: number | string): Promise<PhotoRow | null> {
  const [row] = await sql<PhotoRow[]>`
    select ${sql.unsafe(PHOTO_COLUMNS)} from order_photos where order_id = ${orderId} and approval is not null order by id desc limit 1`
  return row ?? null
}

/** Records the buyer's answer about a photo; null when it is not the newest one asked about (a stale button). */
export async function answerPhoto(
  tx: Sql,
  orderId: number | string,
  photoId: number | string,
  approval: 'approved' | 'changes_requested',
  comment: string | null,
): Promise<PhotoRow | null> {
  const [row] = await tx<PhotoRow[]>`
    update order_photos set approval = ${approval}, comment = ${comment}, answered_at = now()
    where id = ${photoId} and order_id = ${orderId}
      and id = (select max(id) from order_photos where order_id = ${orderId} and approval is not null)
    returning ${tx.unsafe(PHOTO_COLUMNS)}`
  return row ?? null
}
