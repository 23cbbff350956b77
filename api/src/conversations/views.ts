import { z } from 'zod'
import type { Sql } from '../platform/db/client'
import { messagesOf } from './map'
import { photosOf } from './photos'

/**
 * What the page (and the platform) shows per order: whether the buyer follows it, the photos with
 * the buyer's answer, and the conversation. Staff names appear here (it is the shop's own page); the
 * buyer is their first name only.
 */
export const OrderBuyerSchema = z
  .object({ subscribed: z.boolean(), firstName: z.string().nullable() })
  .nullable()
  .describe('The person who opened the buyer link (null: nobody yet); subscribed false after /stop')

export const OrderPhotoSchema = z.object({
  id: z.number(),
  kind: z.string().describe('bouquet (sent to the buyer to approve) | delivery'),
  at: z.string(),
  by: z.string().nullable().describe('The staff member who sent it (never shown to the buyer)'),
  approval: z.enum(['pending', 'approved', 'changes_requested']).nullable().describe('null: the buyer was not asked (not subscribed)'),
  comment: z.string().nullable().describe('What the buyer asked to change'),
  url: z.string().describe('GET it for the image'),
})

export const ConversationEntrySchema = z.object({
  id: z.number(),
  direction: z.enum(['in', 'out']).describe('in: from the buyer; out: a staff reply sent to the buyer'),
  from: z.string().describe('The buyer’s first name, or the staff member’s name'),
  text: z.string().nullable(),
  photo: z.boolean(),
  at: z.string(),
})

export type OrderBuyerView = {
  buyer: z.infer<typeof OrderBuyerSchema>
  photos: z.infer<typeof OrderPhotoSchema>[]
  conversation: z.infer<typeof ConversationEntrySchema>[]
}

export const EMPTY_BUYER_VIEW: OrderBuyerView = { buyer: null, photos: [], conversation: [] }

/** The buyer side of these orders (three statements for a whole page). */
export async function buyerViews(sql: Sql, shopId: number, orderIds: (number | string)[]): Promise<Map<string, OrderBuyerView>> {
  const out = new Map<string, OrderBuyerView>()
  if (!orderIds.length) return out
  const view = (id: string) => {
    let v = out.get(id)
    if (!v) out.set(id, (v = { buyer: null, photos: [], conversation: [] }))
    return v
  }
  const [buyers, photos, messages] = await Promise.all([
    sql<{ order_id: string; subscribed: boolean; first_name: string | null }[]>`
      select b.order_id, b.subscribed, pc.first_name from order_buyers b join telegram_private_chats pc on pc.id = b.private_chat_ref
      where b.order_id = any(${orderIds.map(String)}::bigint[])`,
    photosOf(sql, orderIds),
    messagesOf(sql, orderIds),
  ])
  const names = new Map(buyers.map((b) => [String(b.order_id), b.first_name]))
  for (const b of buyers) view(String(b.order_id)).buyer = { subscribed: b.subscribed, firstName: b.first_name }
  for (const p of photos)
    view(String(p.order_id)).photos.push({
      id: Number(p.id),
      kind: p.kind,
      at: new Date(p.at).toISOString(),
      by: p.by_name,
      approval: p.approval,
      comment: p.comment,
      url: `/shops/${shopId}/orders/${p.order_id}/photos/${p.id}`,
    })
  for (const m of messages)
    view(String(m.order_id)).conversation.push({
      id: Number(m.id),
      direction: m.direction,
      from: m.direction === 'in' ? (names.get(String(m.order_id)) ?? 'Покупатель') : (m.author ?? 'Магазин'),
      text: m.body,
      photo: !!m.photo_file_id,
      at: new Date(m.at).toISOString(),
    })
  return out
}
