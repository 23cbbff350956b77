import type { Sql } from '../platform/db/client'
import type { EventType } from './types'

/**
 * Writes one platform event. Call it with the transaction (or the single statement's `sql`) that makes
 * the change, never after it: an event is committed exactly when its change is. `data` always gets
 * `shopId`; an order event also gets `orderId`, `number` and the order's next `sequence` (the order
 * row is locked by the counter bump, which the change holds anyway).
 *
 * The webhook fan-out is the `platform_event_fanout` trigger, in the same transaction.
 */
export async function recordEvent(
  tx: Sql,
  e: { shopId: number | null; type: EventType; orderId?: number | null; data?: Record<string, unknown> },
): Promise<void> {
  const data = { shopId: e.shopId, ...(e.data ?? {}) }
  if (e.orderId != null) {
    await tx`
      with o as (update orders set event_seq = event_seq + 1 where id = ${e.orderId} returning id, shop_id, number, event_seq)
      insert into platform_events (shop_id, type, order_id, data)
      select o.shop_id, ${e.type}, o.id,
             ${tx.json(data as never)}::jsonb || jsonb_build_object('orderId', o.id, 'number', o.number, 'sequence', o.event_seq)
      from o`
    return
  }
  await tx`insert into platform_events (shop_id, type, data) values (${e.shopId}, ${e.type}, ${tx.json(data as never)})`
}

/**
 * The same event as SQL text for a data-modifying CTE, when the change is one statement (intake):
 * `orderIdExpr`/`shopIdExpr`/`numberExpr` name columns of a CTE the statement already has.
 */
export const ORDER_CREATED_EVENT_SQL = (from: string) => `
  insert into platform_events (shop_id, type, order_id, data)
  select ${from}.shop_id, 'order.created', ${from}.id,
         jsonb_build_object('shopId', ${from}.shop_id, 'orderId', ${from}.id, 'number', ${from}.number, 'sequence', 1,
                            'total', ${from}.total, 'status', ${from}.status)
  from ${from}`
