import type { Sql } from './db/client'
import { NotFound } from './http/errors'

export type Shop = { id: number; name: string }

/** The shop or a 404: every /shops/{shopId}/… route starts here. */
export async function getShopOr404(sql: Sql, shopId: number): Promise<Shop> {
  const [row] = await sql<{ id: string; name: string }[]>`select id, name from shops where id = ${shopId}`
  if (!row) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
  return { id: Number(row.id), name: row.name }
}
